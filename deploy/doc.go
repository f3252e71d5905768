// Package deploy checks the deployment files next to it: the Kubernetes manifests of
// deploy/kubernetes, the NATS chart's values of deploy/nats and the Dockerfile at the
// repository root. It is a module of its own, so that the Kubernetes API types it decodes
// the manifests into stay out of cartwright's own dependencies; scripts/test runs it.
package deploy
