package config

import "fmt"

// validateChangelog accepts A2A_CL's limits: max_bytes alone. The changelog is the
// partitions' state: a max age or a message count would drop what a restore needs, and
// its discard policy is always new (a full changelog refuses the next chunk, and the
// partition stops until it has room).
func (l StreamLimits) validateChangelog() error {
	switch {
	case l.MaxAge != 0 || l.MaxMsgs != 0 || l.MaxMsgSize != 0 || (l.Discard != "" && l.Discard != DiscardNew):
		return fmt.Errorf("max_age, max_msgs, max_msg_size, discard: the changelog keeps every message; only max_bytes may be set")
	case l.MaxBytes < -1:
		return fmt.Errorf("max_bytes %d must be -1 (no limit), 0 (as it is) or more", l.MaxBytes)
	}
	return nil
}
