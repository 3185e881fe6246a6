package sandbox

// The exit statuses docker gives a failure to run a container's command;
// ctop run and ctop exec give the same, so scripts written for docker read
// ctop's statuses unchanged.
const (
	// ExitFailed: ctop itself failed (bad input, the sandbox could not be
	// set up).
	ExitFailed = 125
	// ExitCannotExec: the command was found but cannot be executed.
	ExitCannotExec = 126
	// ExitNotFound: the command was not found.
	ExitNotFound = 127
)
