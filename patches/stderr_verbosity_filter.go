//go:build ts_omit_logtail

package main

// The image build copies this file into Tailscale's cmd/tailscaled before
// running `go build` with ts_omit_logtail among the tags; the build tag above
// makes it disappear from any build that keeps logtail.
//
// Why it is needed: without logtail, tailscaled never sets up logpolicy (that
// code in run() sits behind buildfeatures.HasLogTail), so its log.Printf and
// logger.Logf output goes through the standard "log" package straight to
// stderr. Logtail was also the only reader of the "[v1]", "[v2]" verbosity
// markers inside messages, hiding them unless asked for more. With it gone,
// every verbose message (WireGuard handshakes, netcheck reports, Hostinfo
// dumps) floods the RouterOS container log.
//
// What it does: init() puts a filter in front of the std log output. A line
// marked with verbosity level N is kept only when N <= TS_LOG_VERBOSITY
// (an integer from the environment; unset or unparsable counts as 0).
// Unmarked lines reach stderr exactly as before.

import (
	"bytes"
	"io"
	"log"
	"os"
	"strconv"
	"strings"
)

func init() {
	limit := 0
	if n, err := strconv.Atoi(strings.TrimSpace(os.Getenv("TS_LOG_VERBOSITY"))); err == nil && n > 0 {
		limit = n
	}
	if limit >= 9 {
		// Markers carry a single digit, so nothing could be dropped.
		return
	}
	log.SetOutput(&verbosityFilter{next: log.Writer(), limit: limit})
}

// verbosityFilter drops log lines whose verbosity level is above limit and
// hands everything else to next (the writer log had before, i.e. stderr).
// It keeps no state between calls: the log package writes each entry, newline
// included, in a single call and never two calls at once.
type verbosityFilter struct {
	next  io.Writer
	limit int
}

var markerStart = []byte("[v")

func (f *verbosityFilter) Write(p []byte) (int, error) {
	// Common case: no marker anywhere, pass the bytes on untouched.
	if !bytes.Contains(p, markerStart) {
		return f.next.Write(p)
	}
	// Judge every line on its own, in case one call carries several.
	var kept []byte
	for rest := p; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		rest = rest[len(line):]
		if lineLevel(line) <= f.limit {
			kept = append(kept, line...)
		}
	}
	if len(kept) > 0 {
		if _, err := f.next.Write(kept); err != nil {
			return 0, err
		}
	}
	// Dropped lines count as written, or log would report a short write.
	return len(p), nil
}

// lineLevel returns the verbosity level a line is marked with, 0 if none.
// It understands the plain "[vN]" marker (N one digit) and the prefix
// "[v\x00JSON]N" that logger.Logf.JSON puts before structured records.
func lineLevel(line []byte) int {
	const jsonTag = "\x00JSON]"
	for rest := line; ; {
		i := bytes.Index(rest, markerStart)
		if i < 0 {
			return 0
		}
		rest = rest[i+len(markerStart):]
		if len(rest) >= 2 && isDigit(rest[0]) && rest[1] == ']' {
			return int(rest[0] - '0')
		}
		if bytes.HasPrefix(rest, []byte(jsonTag)) && len(rest) > len(jsonTag) && isDigit(rest[len(jsonTag)]) {
			return int(rest[len(jsonTag)] - '0')
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
