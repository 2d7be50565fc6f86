package wiretest

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// StatusLine opens a connection with dial, writes req as it is and
// returns the answer's status line ("HTTP/1.1 400 Bad Request\r\n"), or
// what came before the connection ended or five seconds passed.
func StatusLine(t testing.TB, dial func() (net.Conn, error), req string) string {
	t.Helper()
	c, err := dial()
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	require.NoError(t, c.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	line, _ := bufio.NewReader(c).ReadString('\n')
	return line
}
