package main

import "testing"

// TestSampleEvents runs every sample in events/surveys through the function
// (see authtest.Env.RunPrivateSamples).
func TestSampleEvents(t *testing.T) {
	shared.Env(t).RunPrivateSamples(t, "surveys", "SurveysFunction", 9)
}
