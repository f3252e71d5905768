// Package providers implements the interfaces package commerce declares for the outside
// world: a catalog with stock, shipping rates, tax rates, discount codes and a payment
// handler.
//
// The built-in implementations here are configured from plain data ([Builtin], which the
// config package embeds) and are pure and deterministic: the same questions always get the
// same answers, so that commerce.Apply stays a function of its inputs. [Demo] is the data
// of the built-in demo tenant (CONTRACT.md section 5), and [MockPayments] its payment
// handler "mock".
package providers
