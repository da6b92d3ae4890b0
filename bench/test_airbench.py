#!/usr/bin/env python3
"""Self-test of bench/airbench.py (needs torch: Debian's python3-torch).

  /usr/bin/python3 bench/test_airbench.py [-v]

On tiny inputs: the learning-rate schedule, the lookahead arithmetic, the alternating flip and the
crops, the whitening filters against a covariance computed by hand, the TTA weights, the
parameter groups, the dirac init, and the CLI end to end on a tiny generated CIFAR-10 archive
(the whitening bias frozen after 3 epochs, --steps, --save-init/--save-final, one-line errors).
About half a minute of CPU on two cores (longer on a busy machine).
"""
import contextlib
import io
import json
import math
import os
import random
import subprocess
import sys
import tarfile
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import airbench  # noqa: E402
import torch_zoo  # noqa: E402
import zoo  # noqa: E402

torch.set_num_threads(2)
SCRIPT = os.path.join(HERE, "airbench.py")


def write_archive(folder, n_train=40, n_test=12, seed=1):
    """A tiny CIFAR-10 binary archive (n_train records in each of data_batch_1..5): its path."""
    rnd = random.Random(seed)
    ext = os.path.join(folder, "cifar-10-batches-bin")
    os.makedirs(ext)
    for name, n in [(f, n_train) for f in airbench.TRAIN_FILES] + [("test_batch.bin", n_test)]:
        recs = bytearray()
        for _ in range(n):
            recs.append(rnd.randrange(10))
            recs += bytes(rnd.randrange(256) for _ in range(3072))
        with open(os.path.join(ext, name), "wb") as f:
            f.write(recs)
    path = os.path.join(folder, "cifar.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        tar.add(ext, arcname="cifar-10-batches-bin")
    return path


def run_main(*argv):
    """airbench.main(argv) in this process: the JSON it prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        airbench.main([str(a) for a in argv] + ["--json", "--threads", "2"])
    return json.loads(out.getvalue())


class Schedule(unittest.TestCase):
    def test_values(self):
        total = math.ceil(50000 // 1024 * 9.9)
        self.assertEqual(total, 476)
        warmup = int(total * 0.23)
        self.assertEqual(warmup, 109)
        f = lambda s: airbench.lr_factor(s, total)  # noqa: E731
        self.assertAlmostEqual(f(0), 0.2, places=12)
        self.assertAlmostEqual(f(warmup), 1.0, places=12)
        self.assertAlmostEqual(f(total), 0.07, places=12)
        self.assertAlmostEqual(f(warmup // 2), 0.2 + 0.8 * (warmup // 2) / warmup, places=12)
        self.assertAlmostEqual(f(total - 1), 1 - 0.93 * (total - 1 - warmup) / (total - warmup), places=12)
        ups = [f(s) for s in range(warmup + 1)]
        downs = [f(s) for s in range(warmup, total + 1)]
        self.assertEqual(ups, sorted(ups))
        self.assertEqual(downs, sorted(downs, reverse=True))

    def test_lambda_lr_applies_it(self):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.5)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: airbench.lr_factor(s, 20))
        for s in range(21):
            self.assertAlmostEqual(opt.param_groups[0]["lr"], 0.5 * airbench.lr_factor(s, 20), places=12)
            opt.step()
            sched.step()

    def test_hyperparameters(self):
        lr, wd, lr_b = airbench.hyperparameters(1024)
        k = 1024 * (1 + 1 / (1 - 0.85))
        self.assertAlmostEqual(lr, 11.5 / k, places=15)
        self.assertAlmostEqual(wd, 0.0153 * 1024 / k, places=15)
        self.assertAlmostEqual(lr_b, 64 * 11.5 / k, places=15)
        self.assertAlmostEqual(airbench.hyperparameters(512)[1], wd / 2, places=15)
        self.assertAlmostEqual(airbench.lookahead_decay(5, 476), 0.95 ** 5 * (5 / 476) ** 3, places=15)
        self.assertAlmostEqual(airbench.lookahead_decay(476, 476), 0.95 ** 5, places=15)


class Toy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
        self.register_buffer("stat", torch.tensor([[10.0]]))
        self.register_buffer("count", torch.tensor(3))


class LookaheadTest(unittest.TestCase):
    def test_arithmetic(self):
        m = Toy()
        look = airbench.Lookahead(m)
        self.assertEqual(set(look.ema), {"w", "stat"})  # float entries only
        with torch.no_grad():
            m.w.copy_(torch.tensor([3.0, -2.0]))
            m.stat.fill_(20.0)
            m.count.fill_(7)
        look.update(m, 0.25)
        # ema = 0.25 * ema + 0.75 * theta, theta = ema
        self.assertTrue(torch.allclose(m.w, torch.tensor([0.25 * 1 + 0.75 * 3, 0.25 * 2 + 0.75 * -2])))
        self.assertTrue(torch.allclose(m.stat, torch.tensor([[0.25 * 10 + 0.75 * 20]])))
        self.assertEqual(int(m.count), 7)
        self.assertTrue(torch.equal(look.ema["w"], m.w.detach()))
        w1 = m.w.detach().clone()
        with torch.no_grad():
            m.w.copy_(torch.tensor([100.0, 100.0]))
        look.update(m, 1.0)  # the final update: theta = ema
        self.assertTrue(torch.equal(m.w.detach(), w1))
        look.update(m, 0.0)  # decay 0: ema = theta
        self.assertTrue(torch.equal(m.w.detach(), w1))
        self.assertTrue(m.w.requires_grad)


class Augmentation(unittest.TestCase):
    def setUp(self):
        torch.manual_seed(3)
        self.n = 64
        self.images = torch.randint(0, 256, (self.n, 3, 8, 8), dtype=torch.uint8)
        self.labels = torch.arange(self.n)  # the label tells which image a batch row is

    def epoch_images(self, loader, e):
        out = torch.empty(self.n, 3, 8, 8)
        for x, y in loader.epoch(e):
            out[y] = x
        return out

    def test_alternating_flip(self):
        torch.manual_seed(4)
        loader = airbench.TrainLoader(self.images, self.labels, 16, "airbench-tiny", "cpu", translate=0)
        self.assertEqual(len(loader), 4)
        plain = airbench.normalize(self.images)
        mirrored = plain.flip(-1)
        e0, e1, e2 = (self.epoch_images(loader, e) for e in range(3))
        f0 = [bool(torch.equal(e0[i], mirrored[i])) for i in range(self.n)]
        for i in range(self.n):
            self.assertTrue(torch.equal(e0[i], mirrored[i] if f0[i] else plain[i]))
            self.assertTrue(torch.equal(e1[i], plain[i] if f0[i] else mirrored[i]))
            self.assertTrue(torch.equal(e2[i], e0[i]))
        self.assertTrue(10 < sum(f0) < self.n - 10)  # random in epoch 0
        self.assertEqual(f0, loader.base_flip.tolist())

    def test_shuffle_and_drop_last(self):
        torch.manual_seed(5)
        loader = airbench.TrainLoader(self.images, self.labels, 20, "airbench-tiny", "cpu")
        orders = [torch.cat([y for _, y in loader.epoch(e)]) for e in range(2)]
        for o in orders:
            self.assertEqual(len(o), 60)
            self.assertEqual(len(set(o.tolist())), 60)
        self.assertFalse(torch.equal(orders[0], orders[1]))

    def test_crop(self):
        x = torch.randn(5, 3, 8, 8)
        shifts = torch.tensor([[-2, -2], [2, 2], [0, 0], [1, -2], [-1, 2]])
        flips = torch.tensor([False, True, False, True, False])
        got = airbench.augment(x, flips, shifts, 2)
        for i in range(5):
            v = x[i].flip(-1) if flips[i] else x[i]
            p = F.pad(v[None], (2, 2, 2, 2), mode="reflect")[0]
            dy, dx = int(shifts[i, 0]) + 2, int(shifts[i, 1]) + 2
            self.assertTrue(torch.equal(got[i], p[:, dy:dy + 8, dx:dx + 8]))
        self.assertTrue(torch.equal(got[2], x[2]))

    def test_shifts_cover_the_range(self):
        torch.manual_seed(6)
        loader = airbench.TrainLoader(self.images, self.labels, 64, "airbench-tiny", "cpu")
        images = self.epoch_images(loader, 0)
        plain = airbench.normalize(self.images)
        plain = torch.where(loader.base_flip.view(-1, 1, 1, 1), plain.flip(-1), plain)
        padded = F.pad(plain, (2,) * 4, mode="reflect")
        seen = set()
        for i in range(self.n):
            hits = [(dy, dx) for dy in range(5) for dx in range(5)
                    if torch.equal(images[i], padded[i, :, dy:dy + 8, dx:dx + 8])]
            self.assertEqual(len(hits), 1)
            seen.add(hits[0])
        self.assertGreater(len(seen), 15)


class Whitening(unittest.TestCase):
    def test_against_a_hand_covariance(self):
        torch.manual_seed(7)
        images = torch.randn(4, 3, 5, 6) * torch.tensor([1.0, 0.5, 2.0]).view(1, 3, 1, 1) + 0.3
        patches = []
        for n in range(4):
            for r in range(4):
                for c in range(5):
                    patches.append([float(images[n, ch, r + i, c + j])
                                    for ch in range(3) for i in range(2) for j in range(2)])
        p = torch.tensor(patches, dtype=torch.float64)
        cov = p.T @ p / len(patches)
        eps = 5e-4
        lam, filters, got_cov = airbench.whitening_filters(images, chunk=3)
        self.assertTrue(torch.allclose(got_cov, cov, rtol=1e-10, atol=1e-12))
        self.assertEqual(list(filters.shape), [12, 3, 2, 2])
        self.assertEqual(lam.tolist(), sorted(lam.tolist(), reverse=True))
        f = filters.reshape(12, 12)
        self.assertTrue(torch.allclose(f @ cov @ f.T, torch.diag(lam / (lam + eps)), atol=1e-9))
        # the filters, applied as a conv, whiten the patches: their outputs' second moments
        out = F.conv2d(images.double(), filters)
        moments = torch.einsum("nihw,njhw->ij", out, out) / (4 * 4 * 5)
        self.assertTrue(torch.allclose(moments, torch.diag(lam / (lam + eps)), atol=1e-9))

    def test_conv_gets_the_filters_and_their_negatives(self):
        torch.manual_seed(8)
        model = airbench.make_model("airbench-tiny")
        images = torch.randn(6, 3, 9, 9)
        airbench.init_whitening(model.whiten, images)
        _, filters, _ = airbench.whitening_filters(images)
        w = model.whiten.weight.detach()
        self.assertTrue(torch.allclose(w[:12], filters.float()))
        self.assertTrue(torch.equal(w[12:], -w[:12]))
        self.assertFalse(model.whiten.weight.requires_grad)
        self.assertTrue(model.whiten.bias.requires_grad)
        self.assertEqual(model.whiten.bias.abs().sum().item(), 0)


class Tta(unittest.TestCase):
    def test_weights_with_a_linear_net(self):
        torch.manual_seed(9)
        w = torch.randn(3 * 6 * 7, 4, dtype=torch.float64)
        net = lambda v: v.flatten(1) @ w  # noqa: E731
        x = torch.randn(2, 3, 6, 7, dtype=torch.float64)
        pad = F.pad(x, (1, 1, 1, 1), mode="reflect")
        t1, t2 = pad[:, :, 0:6, 0:7], pad[:, :, 2:8, 2:9]
        mixed = 0.25 * x + 0.25 * x.flip(-1) + 0.125 * (t1 + t1.flip(-1) + t2 + t2.flip(-1))
        self.assertTrue(torch.allclose(airbench.tta_logits(net, x, 2), net(mixed), atol=1e-12))
        self.assertTrue(torch.allclose(airbench.tta_logits(net, x, 1), net(0.5 * x + 0.5 * x.flip(-1)), atol=1e-12))
        self.assertTrue(torch.equal(airbench.tta_logits(net, x, 0), net(x)))
        # t1 is the image moved down-right by one pixel (reflected at the top-left edge)
        self.assertTrue(torch.equal(t1[:, :, 1:, 1:], x[:, :, :-1, :-1]))
        self.assertTrue(torch.equal(t2[:, :, :-1, :-1], x[:, :, 1:, 1:]))


class Init(unittest.TestCase):
    def test_param_groups(self):
        model = airbench.make_model("airbench-tiny")
        opt = airbench.make_optimizer(model, 512)
        lr, wd, lr_b = airbench.hyperparameters(512)
        names = {id(p): n for n, p in model.named_parameters()}
        g_b, g = opt.param_groups
        self.assertEqual(sorted(names[id(p)] for p in g_b["params"]),
                         sorted("block%d.norm%d.bias" % (b, k) for b in (1, 2, 3) for k in (1, 2)))
        self.assertEqual(sorted(names[id(p)] for p in g["params"]),
                         sorted(["whiten.bias", "head.weight"] +
                                ["block%d.conv%d.weight" % (b, k) for b in (1, 2, 3) for k in (1, 2)]))
        self.assertAlmostEqual(g_b["lr"], 64 * lr, places=15)
        self.assertAlmostEqual(g["lr"], lr, places=15)
        self.assertAlmostEqual(g_b["lr"] * g_b["weight_decay"], wd, places=15)
        self.assertAlmostEqual(g["lr"] * g["weight_decay"], wd, places=15)
        for group in (g_b, g):
            self.assertTrue(group["nesterov"])
            self.assertEqual(group["momentum"], 0.85)

    def test_dirac(self):
        torch.manual_seed(10)
        model = airbench.make_model("airbench94")
        convs = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
        self.assertEqual(len(convs), 7)
        for name, m in convs:
            w = m.weight.detach()
            cout, cin, kh, kw = w.shape
            k = min(cin, cout)
            ident = torch.zeros(k, cin, kh, kw)
            for i in range(k):
                ident[i, i, kh // 2, kw // 2] = 1
            self.assertTrue(torch.equal(w[:k], ident), name)
            if cout > cin:  # the rest keep PyTorch's random init
                self.assertGreater(w[cin:].abs().sum().item(), 0, name)
            if m.bias is not None:
                self.assertEqual(m.bias.abs().sum().item(), 0, name)
        # the identity filters pass their channels through (3x3, padding 1)
        x = torch.randn(2, 64, 8, 8)
        y = model.block2.conv1(x)
        self.assertTrue(torch.allclose(y[:, :64], x, atol=1e-6))
        for n, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                self.assertTrue(torch.equal(m.weight.detach(), torch.ones_like(m.weight)), n)
                self.assertFalse(m.weight.requires_grad, n)
                self.assertEqual(m.bias.abs().sum().item(), 0, n)
        self.assertFalse(model.whiten.weight.requires_grad)


class Cli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.archive = write_archive(cls.tmp.name)  # 200 training images, 12 test images

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_run(self):
        # batch 40: 5 steps an epoch, so the lookahead updates fall on epoch ends
        w0, w4, w3 = self.path("w0.safetensors"), self.path("w4.safetensors"), self.path("w3.safetensors")
        r = run_main("--archive", self.archive, "--arch", "airbench-tiny", "--batch", 40, "--epochs", 4,
                     "--seed", 1, "--save-init", w0, "--save-final", w4)
        self.assertEqual((r["steps_per_epoch"], r["total_steps"], r["steps"]), (5, 20, 20))
        self.assertEqual([row["steps"] for row in r["rows"]], [5, 10, 15, 20])
        self.assertAlmostEqual(r["rows"][0]["lr_factor"], airbench.lr_factor(4, 20), places=12)
        for k in ("arch", "epochs", "batch", "seed", "tta_accuracy", "seconds", "tta_seconds"):
            self.assertIn(k, r)
        init, final = torch_zoo.load_safetensors(w0), torch_zoo.load_safetensors(w4)
        want = list(zoo.make("airbench-tiny").state_dict())
        self.assertEqual(list(init), want)
        self.assertEqual(list(final), want)
        self.assertEqual(final["block1.norm1.num_batches_tracked"].item(), 20)
        # the initial whitening weight is from the first (5,000) training images
        (train_x, _), _ = airbench.load_cifar(self.archive)
        _, filters, _ = airbench.whitening_filters(airbench.normalize(train_x[:5000]))
        self.assertTrue(torch.allclose(init["whiten.weight"], torch.cat((filters, -filters)).float()))
        self.assertFalse(torch.equal(init["head.weight"], final["head.weight"]))
        # the same run stopped after 3 epochs (15 steps): the whitening bias trained until then,
        # then stayed; everything else moved on
        r3 = run_main("--archive", self.archive, "--arch", "airbench-tiny", "--batch", 40,
                      "--epochs", 4, "--seed", 1, "--steps", 15, "--save-final", w3)
        self.assertEqual((r3["total_steps"], r3["steps"], len(r3["rows"])), (20, 15, 3))
        self.assertEqual(r3["rows"], [dict(row, seconds=row3["seconds"], elapsed=row3["elapsed"])
                                      for row, row3 in zip(r["rows"][:3], r3["rows"])])
        mid = torch_zoo.load_safetensors(w3)
        self.assertFalse(torch.equal(init["whiten.bias"], mid["whiten.bias"]))
        self.assertTrue(torch.equal(mid["whiten.bias"], final["whiten.bias"]))
        self.assertFalse(torch.equal(mid["block1.conv1.weight"], final["block1.conv1.weight"]))

    def test_seeded(self):
        a = run_main("--archive", self.archive, "--arch", "airbench-tiny", "--batch", 64, "--epochs", 1,
                     "--tta", 0, "--seed", 2)
        b = run_main("--archive", self.archive, "--arch", "airbench-tiny", "--batch", 64, "--epochs", 1,
                     "--tta", 0, "--seed", 2)
        self.assertEqual(a["rows"][0]["train_loss"], b["rows"][0]["train_loss"])
        self.assertEqual(a["total_steps"], 3)

    def test_cli_and_errors(self):
        p = subprocess.run([sys.executable, SCRIPT, "--archive", self.archive, "--arch", "airbench-tiny",
                            "--batch", "100", "--epochs", "0.5", "--threads", "2"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("tta2 accuracy", p.stdout)
        for argv, words in (
                (["--archive", self.path("nope.tar.gz")], "no such file"),
                (["--archive", self.archive, "--batch", "1000"], "more than the 200 training images"),
                (["--archive", self.archive, "--epochs", "0"], "must be positive"),
                (["--archive", self.archive, "--arch", "resnet18"], "invalid choice"),
                (["--archive", self.archive, "--save-init", self.path("no/dir/w.safetensors")], "no such directory"),
                (["--archive", self.archive, "--device", "tpu"], "--device tpu")):
            with self.assertRaises(SystemExit) as cm, contextlib.redirect_stderr(io.StringIO()):
                airbench.main(["--threads", "2"] + argv)
            msg = str(cm.exception.code)
            self.assertEqual(len(msg.splitlines()), 1, msg)
            self.assertTrue(msg.startswith("airbench.py: "), msg)
            self.assertIn(words, msg)
        # and from the command line: one line on stderr, exit status 1
        p = subprocess.run([sys.executable, SCRIPT, "--threads", "1", "--archive", self.path("nope")],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        self.assertTrue(p.stderr.startswith("airbench.py: no such file"), p.stderr)

if __name__ == "__main__":
    unittest.main()
