package main_test

import (
	"os"
	"testing"

	"github.com/cartwright-dev/cartwright/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
