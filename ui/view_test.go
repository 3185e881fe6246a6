package ui

import "testing"

func TestScratch(t *testing.T) {
	f := newFakeHost()
	m := newTestModel(t, f, 80, 24, 3, "")
	t.Log("\n" + m.View())
	m = keys(m, "j", "j", "enter")
	t.Log("\n" + m.View())
}
