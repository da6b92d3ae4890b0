package dashboard

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWaitEnd: a run's server is kept up after the run ends until a page
// has been sent the end, and not at all where no page ever connected.
func TestWaitEnd(t *testing.T) {
	h := newHub(t, t.TempDir(), "r", 0)
	srv, err := Listen("127.0.0.1:0", h.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.WaitEnd(time.Hour) // no page yet: returns at once, or the test times out

	resp, err := http.Get(srv.URL + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for l := range lines { // the replay: the stream is open
		if strings.HasPrefix(l, "data: ") {
			break
		}
	}
	select {
	case <-srv.run.endSent:
		t.Fatal("a run that has not ended counts as ended")
	default:
	}
	h.Close()
	srv.WaitEnd(time.Hour)
	select {
	case <-srv.run.endSent:
	default:
		t.Fatal("WaitEnd returned before the end was sent")
	}
	for l := range lines {
		if strings.Contains(l, `"type":"end"`) {
			return
		}
	}
	t.Fatal("the page's stream ended without the run's end")
}
