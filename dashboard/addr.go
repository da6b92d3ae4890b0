package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultAddr is where the dashboard listens when given no address: this
// machine only, on a fixed port so the page can be bookmarked (8526 spells
// "vkcn" on a phone's keypad). When it is taken, Listen takes a free port.
const DefaultAddr = "127.0.0.1:8526"

// Server is a dashboard being served over HTTP.
type Server struct {
	// URL is the page's address, e.g. http://127.0.0.1:8526/.
	URL string
	// Warning is set when the server can be reached from other machines.
	Warning string

	srv  *http.Server
	h    http.Handler
	run  *server // h, where it is a run's handler (for WaitEnd)
	done chan struct{}
}

// Listen serves h (a Hub's or a Dir's Handler) at addr in the background.
//
// addr is HOST:PORT, :PORT or PORT, where a missing host means 127.0.0.1,
// not every interface, so that only naming another host reaches beyond this
// machine; "" means DefaultAddr, or a free port if that one is taken; port 0
// means a free port. When the host is not a loopback address the server
// answers anyone who can reach it, and Warning says so; on loopback it
// answers only requests that name a loopback host, which keeps other web
// sites from reading it through DNS rebinding.
func Listen(addr string, h http.Handler) (*Server, error) {
	hostport, err := resolveAddr(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", hostport)
	if err != nil && addr == "" && errors.Is(err, syscall.EADDRINUSE) {
		ln, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("dashboard address %s is in use: choose another port, or port 0 for a free one", hostport)
		}
		return nil, fmt.Errorf("dashboard address %s: %w (use HOST:PORT, e.g. 127.0.0.1:8526)", hostport, err)
	}
	tcp := ln.Addr().(*net.TCPAddr)
	s := &Server{h: h, done: make(chan struct{})}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		// Every interface: name the machine, as another one would.
		if name, err := os.Hostname(); err == nil {
			host = name
		}
	}
	port := strconv.Itoa(tcp.Port)
	s.URL = "http://" + net.JoinHostPort(host, port) + "/"
	handler := h
	if tcp.IP.IsLoopback() {
		handler = loopbackOnly(h)
	} else {
		reqHost, _, _ := net.SplitHostPort(hostport)
		s.Warning = fmt.Sprintf("the dashboard on %s can be reached from other machines, and shows this run to anyone who can reach it (read only); use a 127.0.0.1 address to keep it to this machine", net.JoinHostPort(reqHost, port))
	}
	s.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	if st, ok := h.(*server); ok {
		s.srv.RegisterOnShutdown(st.stop)
		s.run = st
	}
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// resolveAddr turns the forms Listen accepts into HOST:PORT.
func resolveAddr(addr string) (string, error) {
	if addr == "" {
		return DefaultAddr, nil
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		return "127.0.0.1:" + addr, nil
	}
	_, defaultPort, _ := net.SplitHostPort(DefaultAddr)
	// A host alone ("localhost", "0.0.0.0", "::1") takes the default port.
	if ip := net.ParseIP(strings.Trim(addr, "[]")); ip != nil {
		return net.JoinHostPort(ip.String(), defaultPort), nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		if !strings.Contains(addr, ":") {
			return net.JoinHostPort(addr, defaultPort), nil
		}
		return "", fmt.Errorf("dashboard address %q: use HOST:PORT, :PORT or PORT (e.g. 127.0.0.1:8526)", addr)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("dashboard address %q: the port must be a number from 0 to 65535", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// loopbackOnly refuses requests whose Host is not a loopback name: a page
// of another site that has its name resolve to 127.0.0.1 (DNS rebinding)
// would otherwise read the dashboard as its own.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			http.Error(w, "this dashboard answers only to http://127.0.0.1:PORT/ or http://localhost:PORT/", http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isLoopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WaitEnd waits, up to timeout, until a page has been sent a run's end:
// a page whose stream dropped as the run ended reconnects within seconds
// and hears it then, where a server closed at once would leave it showing
// a running run. It returns at once where no page ever opened a stream.
func (s *Server) WaitEnd(timeout time.Duration) {
	if s.run == nil || !s.run.streamed.Load() {
		return
	}
	select {
	case <-s.run.endSent:
	case <-time.After(timeout):
	}
}

// Close stops the server: each page gets the events so far (the run's end
// among them), then the streams end; a page still connected after five
// seconds is cut off. The streams end at once, so the wait is only ever
// long on a machine too loaded to run them, where cutting a stream off
// early would lose the end of the run.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = s.srv.Close()
	}
	<-s.done
	return err
}
