package commerce

import (
	"context"
	"slices"
	"time"
)

// step is one application of a command: the environment and the result so far, which is
// the input state, or the input state with its checkout just expired (see expire). Every
// command starts from prior and either returns an error (Apply then returns prior, which
// still carries the expiry) or a new Result built from it.
type step struct {
	ctx   context.Context
	env   Env
	prior Result
	// book caches the address book's answer for one email within the step.
	book struct {
		email string
		saved []Destination
		read  bool
	}
}

func apply(ctx context.Context, env Env, st State, cmd Command) (Result, error) {
	env.Policy = env.Policy.WithDefaults()
	s := &step{ctx: ctx, env: env, prior: Result{State: st}}
	if c, ok := expire(env.Now, st.Checkout); ok {
		if err := s.release(c.ID); err != nil {
			return Result{State: st}, err
		}
		s.prior = Result{
			State:    State{Checkout: c, Orders: st.Orders},
			Changed:  true,
			Checkout: c,
			Events:   []Event{{Type: EvtCheckoutExpired, Checkout: c}},
		}
	}
	res, err := s.dispatch(cmd)
	if err != nil {
		return s.prior, err
	}
	return res, nil
}

func (s *step) dispatch(cmd Command) (Result, error) {
	switch c := cmd.(type) {
	case CreateCheckout:
		return s.create(c)
	case UpsertCheckout:
		return s.upsert(c)
	case UpdateCheckout:
		return s.change(func(co *Checkout) error { return s.update(co, c) })
	case GetCheckout, ListShippingOptions:
		// Options are kept current by repricing, so listing them is a read.
		return s.read()
	case AddItem:
		return s.change(func(co *Checkout) error { return s.addItem(co, c) })
	case UpdateItem:
		return s.change(func(co *Checkout) error { return s.updateItem(co, c) })
	case RemoveItem:
		return s.change(func(co *Checkout) error { return removeItem(co, c) })
	case SetBuyer:
		return s.change(func(co *Checkout) error { co.Buyer = clonePtr(&c.Buyer); return nil })
	case SetShippingAddress:
		return s.change(func(co *Checkout) error { return setAddress(co, c) })
	case SelectShippingOption:
		return s.change(func(co *Checkout) error { return selectOption(co, c) })
	case ApplyDiscount:
		return s.change(func(co *Checkout) error { return s.applyDiscount(co, c.Code, "code", "$.discounts.codes") })
	case RemoveDiscount:
		return s.change(func(co *Checkout) error { removeDiscount(co, c.Code); return nil })
	case CompleteCheckout:
		return s.complete(c)
	case CancelCheckout:
		return s.cancel()
	case GetOrder:
		return s.getOrder(c)
	case CapturePayment:
		return s.capture(c)
	case VoidPayment:
		return s.void(c)
	case RefundPayment:
		return s.refund(c)
	case CancelOrder:
		return s.cancelOrder(c)
	case ShipOrder:
		return s.shipOrder(c)
	case UpdateOrder:
		return s.updateOrder(c)
	case nil:
		return Result{}, E(KindInvalid, CodeUnknownAction, "no command")
	default:
		return Result{}, E(KindInvalid, CodeUnknownAction, "unknown action %q", cmd.Action())
	}
}

// current returns the context's checkout, or not_found.
func (s *step) current() (*Checkout, error) {
	c := s.prior.State.Checkout
	if c == nil {
		return nil, E(KindNotFound, CodeNotFound, "no checkout in this context")
	}
	return c, nil
}

// editable returns the checkout a change applies to, refusing a final one.
func (s *step) editable() (*Checkout, error) {
	c, err := s.current()
	if err != nil {
		return nil, err
	}
	switch {
	case c.Expired():
		return nil, E(KindConflict, CodeCheckoutExpired, "checkout %s expired at %s", c.ID, c.ExpiresAt.UTC().Format(time.RFC3339))
	case c.Status.Final():
		return nil, E(KindConflict, CodeCheckoutImmutable, "checkout %s is %s", c.ID, c.Status)
	}
	return c, nil
}

// read answers with the checkout as it stands.
func (s *step) read() (Result, error) {
	c, err := s.current()
	if err != nil {
		return Result{}, err
	}
	res := s.prior
	res.Checkout = c
	return res, nil
}

// change applies a mutating command to a copy of the checkout: messages are reset (they
// describe what the latest change found), f changes the copy, and repricing brings the
// totals, shipping options and status up to date.
func (s *step) change(f func(c *Checkout) error) (Result, error) {
	before, err := s.editable()
	if err != nil {
		return Result{}, err
	}
	c := before.cloneForChange() // messages reset; totals shared until reprice replaces them
	if err := f(c); err != nil {
		return Result{}, err
	}
	if err := s.reprice(c); err != nil {
		return Result{}, err
	}
	return s.commitCheckout(before, c), nil
}

// commitCheckout makes c the context's checkout. A change that changed nothing but the
// time (the same discount code again, removing an absent one) is no change at all: the
// reply is before and the state is left as it was.
func (s *step) commitCheckout(before, c *Checkout, events ...Event) Result {
	res := s.prior
	if len(events) == 0 && sameCheckout(before, c) {
		res.Checkout = before
		return res
	}
	c.UpdatedAt = s.env.Now
	res.State.Checkout = c
	res.Changed = true
	res.Checkout = c
	res.Events = append(slices.Clip(res.Events), events...)
	return res
}

// commitOrder replaces the i-th order with o (appends it when i is len(Orders)).
func (s *step) commitOrder(i int, o *Order, events ...Event) Result {
	res := s.prior
	orders := slices.Clone(res.State.Orders)
	if i == len(orders) {
		orders = append(orders, o)
	} else {
		orders[i] = o
	}
	o.UpdatedAt = s.env.Now
	res.State.Orders = orders
	res.Changed = true
	res.Checkout = nil
	res.Order = o
	res.Events = append(slices.Clip(res.Events), events...)
	return res
}
