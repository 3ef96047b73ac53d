# docker buildx bake             the image, three platforms (group default)
# docker buildx bake tailscale   only tailscale.combined, one directory per platform in ./out
# TAILSCALE_VERSION=v1.102.5 docker buildx bake    another release than the recipe's pin
#
# Beside the stub Dockerfile, patches/ and busybox-applets.config. Every
# variable may also come from the environment.

variable "TAILSCALE_VERSION" {
  # null: the recipe's pin
  default = null
}

variable "GOLANG_IMAGE" {
  # The recipe's own golang pin (kept equal by a test and by Renovate); or
  # your registry's mirror of it.
  # renovate: datasource=docker depName=golang
  default = "golang:1.26.5-alpine@sha256:0178a641fbb4858c5f1b48e34bdaabe0350a330a1b1149aabd498d0699ff5fb2"
}

variable "TAG" {
  default = "mikrotik-tailscale:latest"
}

group "default" {
  targets = ["image"]
}

# The golang input as a bake target: the build platform's image, fed to the
# recipe's `golang` input by `contexts` below.
target "golang" {
  dockerfile-inline = "FROM --platform=$BUILDPLATFORM ${GOLANG_IMAGE}"
}

target "_recipe" {
  contexts  = { golang = "target:golang" }
  platforms = ["linux/amd64", "linux/arm64", "linux/arm/v7"]
  args      = { TAILSCALE_VERSION = TAILSCALE_VERSION }
}

target "image" {
  inherits = ["_recipe"]
  tags     = [TAG]
}

target "tailscale" {
  inherits = ["_recipe"]
  target   = "tailscale"
  output   = ["type=local,dest=out"]
}
