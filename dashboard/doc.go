// Package dashboard shows training in a web page that updates live: the
// training loss as it moves, test accuracy per epoch, learning rate,
// images/s, epoch and ETA, the run's settings, test images with their
// predicted and true classes, the confusion matrix and the first layer's
// filters. Several runs can be compared on one chart.
//
// The package reads what the trainer reports and never drives it. The train
// command feeds a Hub with events (settings at the start, progress samples
// during an epoch, results after each epoch); the Hub appends them to an
// in-memory log and returns at once, whatever the browsers do. A goroutine
// writes the log to the run directory (dashboard.jsonl, one JSON object per
// line, appended; dashboard-test.bin, the test images the page shows), so
// Dir can serve finished runs and tail running ones from a runs directory.
//
// The page is plain HTML and JavaScript with uPlot for the charts, all
// embedded, so it works offline and asks nothing of any other host. Updates
// reach it by server-sent events: each connection follows the log at its own
// pace, so a slow browser gets bigger batches rather than holding anyone up.
// The server is read only, answers only GET and HEAD, resolves run names
// against the directory's listing (never a path from the request), and by
// default listens on loopback only and answers only to loopback host names.
package dashboard
