// rtp-ear is the agent bench's callers: for each of -ears sockets on 127.0.0.1 it receives the
// agent's PCMU and, once it knows where from, sends 20 ms of silence back every 20 ms, as a phone
// does. Each packet's arrival time is the kernel's receive timestamp (SO_TIMESTAMPNS), so the
// gaps the bench reports are the ones on the wire, not the bench process's own scheduling delays
// (Node's dgram cannot read that timestamp).
//
// stdout: "ports P1 P2 ..." once bound, then per packet
// "p EAR KERNEL_MS USER_MS SEQ SOUND": times in ms since the Unix epoch (three decimals),
// USER_MS when this process read it, SOUND 1 when the payload's RMS is over 500.
// It exits when stdin closes.
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

const pcmu = 0

type ear struct {
	index  int
	conn   *net.UDPConn
	remote atomic.Pointer[net.UDPAddr]
	seq    uint16
	ssrc   uint32
}

type arrival struct {
	ear      int
	kernelNs int64
	userNs   int64
	seq      uint16
	sound    bool
}

var ulaw [256]float64

func init() {
	for i := range ulaw {
		u := ^byte(i)
		t := (int(u&0x0f) << 3) + 0x84
		t <<= (u & 0x70) >> 4
		if u&0x80 != 0 {
			ulaw[i] = float64(0x84 - t)
		} else {
			ulaw[i] = float64(t - 0x84)
		}
	}
}

func main() {
	count := flag.Int("ears", 1, "sockets to open")
	flag.Parse()

	ears := make([]*ear, *count)
	for i := range ears {
		conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			fail(err)
		}
		if err := enableTimestamps(conn); err != nil {
			fail(err)
		}
		ears[i] = &ear{index: i, conn: conn, ssrc: uint32(time.Now().UnixNano()) + uint32(i)*7919}
	}

	out := bufio.NewWriterSize(os.Stdout, 1<<16)
	fmt.Fprint(out, "ports")
	for _, e := range ears {
		fmt.Fprintf(out, " %d", e.conn.LocalAddr().(*net.UDPAddr).Port)
	}
	fmt.Fprintln(out)
	out.Flush()

	arrivals := make(chan arrival, 8192)
	for _, e := range ears {
		go e.listen(arrivals)
	}
	go speak(ears)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()

	flush := time.NewTicker(50 * time.Millisecond)
	for {
		select {
		case a := <-arrivals:
			sound := 0
			if a.sound {
				sound = 1
			}
			fmt.Fprintf(out, "p %d %.3f %.3f %d %d\n", a.ear, float64(a.kernelNs)/1e6, float64(a.userNs)/1e6, a.seq, sound)
		case <-flush.C:
			if err := out.Flush(); err != nil {
				os.Exit(0)
			}
		}
	}
}

func enableTimestamps(conn *net.UDPConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var optErr error
	err = raw.Control(func(fd uintptr) {
		optErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1)
		if optErr == nil {
			optErr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1<<20)
		}
	})
	if err != nil {
		return err
	}
	return optErr
}

func (e *ear) listen(arrivals chan<- arrival) {
	buf := make([]byte, 2048)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := e.conn.ReadMsgUDP(buf, oob)
		if err != nil {
			return
		}
		userNs := time.Now().UnixNano()
		msg := buf[:n]
		if n < 12 || msg[0]&0xc0 != 0x80 || msg[1]&0x7f != pcmu {
			continue
		}
		if e.remote.Load() == nil {
			e.remote.Store(from)
		}
		kernelNs := kernelTime(oob[:oobn])
		if kernelNs == 0 {
			kernelNs = userNs
		}
		arrivals <- arrival{
			ear:      e.index,
			kernelNs: kernelNs,
			userNs:   userNs,
			seq:      binary.BigEndian.Uint16(msg[2:4]),
			sound:    loud(msg[12+int(msg[0]&0x0f)*4:]),
		}
	}
}

func kernelTime(oob []byte) int64 {
	messages, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range messages {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return sec*1e9 + nsec
		}
	}
	return 0
}

func loud(payload []byte) bool {
	if len(payload) == 0 {
		return false
	}
	sum := 0.0
	for _, b := range payload {
		sum += ulaw[b] * ulaw[b]
	}
	return math.Sqrt(sum/float64(len(payload))) > 500
}

func speak(ears []*ear) {
	silence := make([]byte, 12+160)
	for i := 12; i < len(silence); i++ {
		silence[i] = 0xff
	}
	tick := time.NewTicker(20 * time.Millisecond)
	for range tick.C {
		for _, e := range ears {
			remote := e.remote.Load()
			if remote == nil {
				continue
			}
			silence[0] = 0x80
			silence[1] = pcmu
			binary.BigEndian.PutUint16(silence[2:4], e.seq)
			binary.BigEndian.PutUint32(silence[4:8], uint32(e.seq)*160)
			binary.BigEndian.PutUint32(silence[8:12], e.ssrc)
			e.seq++
			e.conn.WriteToUDP(silence, remote)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "rtp-ear:", err)
	os.Exit(1)
}
