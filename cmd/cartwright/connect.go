package main

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"

	"github.com/cartwright-dev/cartwright/config"
)

// connFlags are the connection options, named as the nats CLI names them.
type connFlags struct {
	url, creds, nkey, token, user, password, tlsCert, tlsKey, tlsCA string
}

func (c *connFlags) register(fs *pflag.FlagSet, urlHelp string) {
	fs.StringVar(&c.url, "nats-url", "", urlHelp)
	fs.StringVar(&c.creds, "creds", "", "NATS user credentials file")
	fs.StringVar(&c.nkey, "nkey", "", "NATS NKey seed file")
	fs.StringVar(&c.token, "token", "", "NATS authentication token")
	fs.StringVar(&c.user, "user", "", "NATS user name")
	fs.StringVar(&c.password, "password", "", "NATS password")
	fs.StringVar(&c.tlsCert, "tlscert", "", "TLS client certificate file")
	fs.StringVar(&c.tlsKey, "tlskey", "", "TLS client key file")
	fs.StringVar(&c.tlsCA, "tlsca", "", "TLS certificate authority file")
}

func (c *connFlags) apply(n *config.NATS) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&n.URL, c.url)
	set(&n.Creds, c.creds)
	set(&n.NKey, c.nkey)
	set(&n.Token, c.token)
	set(&n.User, c.user)
	set(&n.Password, c.password)
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
	if n.Token != "" {
		opts = append(opts, nats.Token(n.Token))
	}
	if n.User != "" {
		opts = append(opts, nats.UserInfo(n.User, n.Password))
	}
	if n.TLSCert != "" || n.TLSKey != "" {
		opts = append(opts, nats.ClientCert(n.TLSCert, n.TLSKey))
	}
	if n.TLSCA != "" {
		opts = append(opts, nats.RootCAs(n.TLSCA))
	}
	return opts, nil
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
