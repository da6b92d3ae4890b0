#!/usr/bin/env bash
# Regenerates onnx.pb.go, the Go types of the ONNX protobuf schema, from the
# schema Debian's python3-onnx 1.12 ships (the version whose checker the
# tests run), converted to proto3 by that package's own gen_proto.py, with
# protoc (Debian's protobuf-compiler) and protoc-gen-go v1.36.12 (the
# google.golang.org/protobuf version in go.mod). Run from anywhere:
#
#	apt-get install python3-onnx protobuf-compiler
#	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
#	onnx/onnxpb/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
onnx=$(/usr/bin/python3 -c 'import onnx, os; print(os.path.dirname(onnx.__file__))')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$onnx/gen_proto.py" -o "$tmp" onnx >/dev/null
cp "$tmp/onnx.proto3" onnx.proto3
PATH="$(go env GOPATH)/bin:$PATH" protoc -I . \
	--go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto3='github.com/vkcnn/vkcnn/onnx/onnxpb;onnxpb' \
	onnx.proto3
mv onnx.proto3.pb.go onnx.pb.go
