package main

// sandboxInitHook lets the sandbox take over a re-executed child. Replaced
// when the sandbox package lands.
func sandboxInitHook() bool { return false }
