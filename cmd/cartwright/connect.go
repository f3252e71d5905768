package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/cartwright-dev/cartwright/config"
)

// connFlags are the connection options, named as the nats CLI names them. Secrets come
// from files or the environment only: a flag's value is visible to anyone running ps.
type connFlags struct {
	url, creds, nkey, tokenFile, user, passwordFile, inboxPrefix, tlsCert, tlsKey, tlsCA string
	// token and password exist only to refuse them with a pointer to where they go.
	token, password string
}

// refusedFlag marks a flag that is declared only to be refused: bindEnv leaves it alone.
const refusedFlag = "cartwright_refused"

func (c *connFlags) register(fs *pflag.FlagSet, urlHelp string) {
	fs.StringVar(&c.url, "nats-url", "", urlHelp)
	fs.StringVar(&c.creds, "creds", "", "NATS user credentials file")
	fs.StringVar(&c.nkey, "nkey", "", "NATS NKey seed file")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding the NATS token (or set NATS_TOKEN)")
	fs.StringVar(&c.user, "user", "", "NATS user name (or set NATS_USER)")
	fs.StringVar(&c.passwordFile, "password-file", "", "file holding the NATS password (or set NATS_PASSWORD)")
	fs.StringVar(&c.inboxPrefix, "inbox-prefix", "", "prefix of reply inboxes instead of _INBOX, e.g. _INBOX.acme where NATS permissions allow only that")
	fs.StringVar(&c.tlsCert, "tlscert", "", "TLS client certificate file")
	fs.StringVar(&c.tlsKey, "tlskey", "", "TLS client key file")
	fs.StringVar(&c.tlsCA, "tlsca", "", "TLS certificate authority file")
	fs.StringVar(&c.token, "token", "", "refused: use --token-file or NATS_TOKEN")
	fs.StringVar(&c.password, "password", "", "refused: use --password-file or NATS_PASSWORD")
	for _, name := range []string{"token", "password"} {
		_ = fs.MarkHidden(name)
		_ = fs.SetAnnotation(name, refusedFlag, []string{"true"})
	}
}

// refuseSecretFlags reports --token, --password or a --nats-url with credentials on the
// command line, naming where the secret goes instead and never repeating it. It runs
// before bindEnv, so that Changed means the command line, not the environment.
func refuseSecretFlags(fs *pflag.FlagSet) error {
	var msgs []string
	for _, name := range []string{"token", "password"} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			up := strings.ToUpper(name)
			msgs = append(msgs, fmt.Sprintf("--%s is not accepted: a secret on the command line is visible to every "+
				"user of the machine (ps); set NATS_%s or CARTWRIGHT_NATS_%s in the environment, or use --%s-file FILE",
				name, up, up, name))
		}
	}
	if f := fs.Lookup("nats-url"); f != nil && f.Changed && urlHasUser(f.Value.String()) {
		msgs = append(msgs, "--nats-url carries credentials (user@ or user:password@), visible to every user "+
			"of the machine (ps); set the URL in CARTWRIGHT_NATS_URL (client commands also read NATS_URL) instead, or pass the user "+
			"with --user and the secret as NATS_PASSWORD, NATS_TOKEN or a file")
	}
	if len(msgs) > 0 {
		return usageErr("%s", strings.Join(msgs, "; "))
	}
	return nil
}

// checkInboxPrefix refuses an --inbox-prefix that the worker would not answer: it
// sends replies only to _INBOX.> or the tenant's own a2a.out subjects (CONTRACT.md
// section 2), so a request waiting elsewhere would never hear back.
func checkInboxPrefix(fs *pflag.FlagSet) error {
	f := fs.Lookup("inbox-prefix")
	if f == nil || f.Value.String() == "" {
		return nil
	}
	p := f.Value.String()
	if !strings.HasPrefix(p, "_INBOX.") || strings.HasSuffix(p, ".") || strings.ContainsAny(p, "*> \t") {
		return usageErr("--inbox-prefix %q: want _INBOX.<tokens>, e.g. _INBOX.acme: the worker replies only under _INBOX.", p)
	}
	return nil
}

// urlHasUser reports whether a NATS URL, or any of a comma-separated list, names a user or
// a token: no host holds an @.
func urlHasUser(s string) bool { return strings.Contains(s, "@") }

func (c *connFlags) apply(n *config.NATS) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&n.URL, c.url)
	set(&n.Creds, c.creds)
	set(&n.NKey, c.nkey)
	set(&n.TokenFile, c.tokenFile)
	set(&n.User, c.user)
	set(&n.PasswordFile, c.passwordFile)
	set(&n.InboxPrefix, c.inboxPrefix)
	set(&n.TLSCert, c.tlsCert)
	set(&n.TLSKey, c.tlsKey)
	set(&n.TLSCA, c.tlsCA)
}

// natsOptions turns the configuration's credentials into nats.go options.
func natsOptions(n config.NATS, name string) ([]nats.Option, error) {
	opts := []nats.Option{nats.Name(name)}
	if n.Creds != "" {
		opts = append(opts, nats.UserCredentials(n.Creds))
	}
	if n.NKey != "" {
		o, err := nats.NkeyOptionFromSeed(n.NKey)
		if err != nil {
			return nil, fmt.Errorf("nkey %s: %w", n.NKey, err)
		}
		opts = append(opts, o)
	}
	cred, err := n.Credentials()
	if err != nil {
		return nil, err
	}
	if cred.Token != "" {
		opts = append(opts, nats.Token(cred.Token))
	}
	if cred.User != "" {
		opts = append(opts, nats.UserInfo(cred.User, cred.Password))
	}
	if n.InboxPrefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(n.InboxPrefix))
	}
	if n.TLSCert != "" || n.TLSKey != "" {
		opts = append(opts, nats.ClientCert(n.TLSCert, n.TLSKey))
	}
	if n.TLSCA != "" {
		opts = append(opts, nats.RootCAs(n.TLSCA))
	}
	return opts, nil
}

// redactURL hides what a NATS URL (or a comma-separated list of them) carries before
// the host: user:password@ becomes user:xxxxx@, and a lone user, which NATS takes as a
// token, becomes xxxxx@.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		u, err := url.Parse(p)
		if err != nil {
			// Unparseable: keep only what cannot be a secret.
			if at := strings.LastIndex(p, "@"); at >= 0 {
				p = "xxxxx" + p[at:]
			}
			parts[i] = p
			continue
		}
		if u.User != nil {
			if _, ok := u.User.Password(); ok {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			} else {
				u.User = url.User("xxxxx")
			}
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// clientConnect connects a client command, failing fast when nothing answers.
func clientConnect(c *connFlags) (*nats.Conn, error) {
	var n config.NATS
	c.apply(&n)
	if n.URL == "" {
		n.URL = nats.DefaultURL
	}
	opts, err := natsOptions(n, "cartwright-cli")
	if err != nil {
		return nil, err
	}
	opts = append(opts, nats.Timeout(3*time.Second))
	return nats.Connect(n.URL, opts...)
}
