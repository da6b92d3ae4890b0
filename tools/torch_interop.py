#!/usr/bin/env python3
"""Checks that PyTorch and vkcnn read each other's weights.

Usage: torch_interop.py MODEL.safetensors ARCHIVE.tar.gz OUT.safetensors

Loads vkcnn's model.safetensors into the PyTorch tutorial's network with
load_state_dict(strict=True), evaluates it on the archive's test batch, prints
the accuracy as JSON, and writes the state_dict back out as OUT.safetensors
(what `vkcnn train --init` and `vkcnn eval --model` take).

The safetensors format is read and written here with json and struct, so
only torch is needed (Debian's python3-torch has no safetensors module).
"""
import io
import json
import struct
import sys
import tarfile

import torch
from torch import nn


class Net(nn.Module):
    """The PyTorch CIFAR-10 tutorial's network, as vkcnn's layers.Seed."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.drop1 = nn.Dropout(0.3)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc3 = nn.Linear(8192, 512)
        self.drop2 = nn.Dropout(0.5)
        self.fc4 = nn.Linear(512, 10)

    def forward(self, x):
        x = self.drop1(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.drop2(torch.relu(self.fc3(x)))
        return self.fc4(x)


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}, want F32")
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + start:base + end]), dtype=torch.float32)
        out[name] = t.reshape(info["shape"])
    return out


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        raw = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + b"".join(blobs))


def test_batch(archive):
    with tarfile.open(archive) as tar:
        for m in tar.getmembers():
            if m.name.endswith("test_batch.bin"):
                raw = tar.extractfile(m).read()
                break
        else:
            raise SystemExit(f"{archive}: no test_batch.bin")
    n = len(raw) // 3073
    rec = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(n, 3073)
    labels = rec[:, 0].long()
    images = rec[:, 1:].float().reshape(n, 3, 32, 32) / 255
    return images, labels


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    model_path, archive, out_path = sys.argv[1:]
    net = Net()
    net.load_state_dict(load_safetensors(model_path), strict=True)
    net.eval()
    images, labels = test_batch(archive)
    with torch.no_grad():
        pred = net(images).argmax(1)
    correct = int((pred == labels).sum())
    save_safetensors(out_path, net.state_dict())
    print(json.dumps({"images": len(labels), "correct": correct, "accuracy": 100 * correct / len(labels)}))


if __name__ == "__main__":
    main()
