package commerce

import (
	"context"
	"errors"
)

func apply(ctx context.Context, env Env, st State, cmd Command) (Result, error) {
	return Result{State: st}, errors.New("not implemented yet")
}
