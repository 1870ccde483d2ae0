//go:build race

package main

// raceEnabled is whether the race detector is on: its shadow memory makes
// page-fault counts meaningless.
const raceEnabled = true
