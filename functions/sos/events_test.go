package main

import "testing"

// TestSampleEvents runs every sample in events/sos through the function
// (see authtest.Env.RunPrivateSamples): one per route family.
func TestSampleEvents(t *testing.T) {
	shared.Env(t).RunPrivateSamples(t, "sos", "SosFunction", 12)
}
