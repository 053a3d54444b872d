package main

import "testing"

func TestGreeting(t *testing.T) {
	if greeting == "" {
		t.Fatal("greeting must not be empty")
	}
}
