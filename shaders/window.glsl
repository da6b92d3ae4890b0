// The training window's picture (package window), one invocation per pixel,
// drawn from tensors already on the device: a grid of the current batch
// (the gathered, normalized input, normalization undone), the first
// convolution's filters enlarged (each scaled by its own largest |weight|,
// 0 grey) and the loss curve. window/render.go is the same drawing in Go,
// the reference the tests compare the window with: change both together.
// The including shader declares the picture, the storage image at binding 0.
layout(local_size_x = 8, local_size_y = 8) in;

layout(std430, set = 0, binding = 1) readonly buffer Batch { float x[]; };   // [N,C,H,W]
layout(std430, set = 0, binding = 2) readonly buffer Filters { float w[]; }; // [K,C,k,k]
layout(std430, set = 0, binding = 3) readonly buffer Loss { float loss[]; };

layout(push_constant) uniform Push {
	uint width, height;
	// The batch grid: top left, columns, images shown, pixels per image
	// pixel; each image's channels, height and width.
	uint bx, by, bcols, bcount, bscale, bc, bh, bw;
	// The filter grid likewise; each filter's channels and side.
	uint fx, fy, fcols, fcount, fscale, fc, fk;
	// The loss panel: top left, size, points and the value at its top.
	uint lx, ly, lw, lh, lcount;
	float lmax;
	// The gather's normalization, undone (std 0: none).
	float m0, m1, m2, s0, s1, s2;
	// swap != 0 writes blue in red's place: the picture is copied byte for
	// byte into a BGRA swapchain image.
	uint swap;
} p;

const uint gap = 2;     // between tiles
const uint inset = 4;   // the loss curve's margin inside its panel
const vec3 background = vec3(24, 24, 28) / 255.0;
const vec3 panel = vec3(40, 40, 48) / 255.0;
const vec3 curve = vec3(255, 170, 40) / 255.0;

// tile finds pixel (px, py) in a grid of count tiles of side*scale pixels,
// cols to a row, at (x0, y0): the tile's index and the source pixel in it.
bool tile(uint px, uint py, uint x0, uint y0, uint cols, uint count, uint side, uint scale, out uint i, out uvec2 at) {
	if (px < x0 || py < y0 || cols == 0 || scale == 0) {
		return false;
	}
	uint pitch = side * scale + gap;
	uint rx = px - x0, ry = py - y0;
	uint col = rx / pitch, row = ry / pitch;
	uint tx = rx % pitch, ty = ry % pitch;
	i = row * cols + col;
	at = uvec2(tx / scale, ty / scale);
	return col < cols && tx < side * scale && ty < side * scale && i < count;
}

vec3 image(uint i, uvec2 at) {
	uint plane = p.bh * p.bw;
	uint base = i * p.bc * plane + at.y * p.bw + at.x;
	vec3 mean = vec3(p.m0, p.m1, p.m2), std = vec3(p.s0, p.s1, p.s2);
	vec3 v;
	if (p.bc >= 3) {
		v = vec3(x[base], x[base + plane], x[base + 2 * plane]);
	} else {
		v = vec3(x[base]);
		mean = vec3(p.m0);
		std = vec3(p.s0);
	}
	if (std.x != 0.0) {
		v = v * std + mean;
	}
	return clamp(v, 0.0, 1.0);
}

vec3 filter_(uint j, uvec2 at) {
	uint size = p.fc * p.fk * p.fk;
	uint base = j * size;
	float m = 0.0;
	for (uint e = 0; e < size; e++) {
		m = max(m, abs(w[base + e]));
	}
	uint plane = p.fk * p.fk;
	uint off = base + at.y * p.fk + at.x;
	vec3 v;
	if (p.fc == 3) {
		v = vec3(w[off], w[off + plane], w[off + 2 * plane]);
	} else {
		float s = 0.0;
		for (uint c = 0; c < p.fc; c++) {
			s += w[off + c * plane];
		}
		v = vec3(s / float(p.fc));
	}
	if (m == 0.0) {
		return vec3(0.5);
	}
	return clamp(0.5 + 0.5 * v / m, 0.0, 1.0);
}

// lossY is the panel row, from the plot's top, of the curve at column c.
float lossY(float c, float plotW, float plotH) {
	float t = clamp(c, 0.0, plotW - 1.0) / max(plotW - 1.0, 1.0) * float(p.lcount - 1);
	uint a = uint(t);
	uint b = min(a + 1, p.lcount - 1);
	float v = mix(loss[a], loss[b], t - float(a));
	return (plotH - 1.0) * (1.0 - clamp(v / p.lmax, 0.0, 1.0));
}

vec3 lossPanel(uint px, uint py) {
	if (p.lcount == 0 || p.lmax <= 0.0 || px < p.lx + inset || py < p.ly + inset || px >= p.lx + p.lw - inset ||
	    py >= p.ly + p.lh - inset) {
		return panel;
	}
	float plotW = float(p.lw - 2 * inset), plotH = float(p.lh - 2 * inset);
	float c = float(px - p.lx - inset), r = float(py - p.ly - inset);
	// The curve's span over this column, thickened by a pixel each way.
	float a = lossY(c - 0.5, plotW, plotH), b = lossY(c + 0.5, plotW, plotH);
	return r >= min(a, b) - 1.0 && r <= max(a, b) + 1.0 ? curve : panel;
}

void main() {
	uint px = gl_GlobalInvocationID.x, py = gl_GlobalInvocationID.y;
	if (px >= p.width || py >= p.height) {
		return;
	}
	vec3 color = background;
	uint i;
	uvec2 at;
	if (tile(px, py, p.bx, p.by, p.bcols, p.bcount, max(p.bh, p.bw), p.bscale, i, at)) {
		// Tiles are square: a wide or tall image leaves a strip of background.
		color = at.x < p.bw && at.y < p.bh ? image(i, at) : background;
	} else if (tile(px, py, p.fx, p.fy, p.fcols, p.fcount, p.fk, p.fscale, i, at)) {
		color = filter_(i, at);
	} else if (px >= p.lx && py >= p.ly && px < p.lx + p.lw && py < p.ly + p.lh) {
		color = lossPanel(px, py);
	}
	if (p.swap != 0) {
		color = color.bgr;
	}
	imageStore(picture, ivec2(px, py), vec4(color, 1.0));
}
