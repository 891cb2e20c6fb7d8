package main

import "testing"

// TestSampleEvents runs every sample in events/search through the function
// (see authtest.Env.RunPrivateSamples).
func TestSampleEvents(t *testing.T) {
	shared.Env(t).RunPrivateSamples(t, "search", "SearchFunction", 3)
}
