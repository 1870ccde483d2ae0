# syntax=docker/dockerfile:1
# The weightaudit container image: a static binary on distroless (CA
# certificates for the Hub and registries, no shell), run as a non-root
# user. Build: docker build -t weightaudit .
# Run:   docker run --rm -v "$PWD:/data:ro" weightaudit audit /data/model.gguf

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/weightaudit ./cmd/weightaudit

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/weightaudit /usr/local/bin/weightaudit
# distroless's nonroot user (65532): its home, /home/nonroot, holds the
# header cache (WEIGHTAUDIT_CACHE overrides it; mount a volume to keep it).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/weightaudit"]
CMD ["--help"]
