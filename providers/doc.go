// Package providers implements the interfaces package commerce declares for the outside
// world: a catalog with stock, shipping rates, tax rates, discount codes and a payment
// handler.
//
// The built-in implementations here are configured from plain data ([Builtin], which the
// config package embeds) and are pure and deterministic: the same questions always get the
// same answers, so that commerce.Apply stays a function of its inputs. [Demo] is the data
// of the built-in demo tenant (CONTRACT.md section 5), and [MockPayments] its payment
// handler "mock".
//
// The HTTP adapters ([HTTPCatalog], [HTTPInventory], [HTTPShipping], [HTTPTax],
// [HTTPDiscounts], [HTTPPayments]) ask the merchant's own service instead, over the
// JSON-over-HTTP contract of docs/providers.md. Their answers are the service's, so not
// deterministic; what keeps effects single is that every call is idempotent (payment
// calls carry the step's Idempotency-Key) and that the worker records the reply of each
// envelope. They retry what may go away within a small budget and classify the rest as
// commerce errors (see http.go), so that the worker knows whether to reply, retry or
// dead-letter.
package providers
