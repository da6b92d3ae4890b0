// epilogue.glsl: backend.Epilogue, what a fused GEMM does to an output value
// before it stores it, so that a layer's bias, ReLU and dropout (or, going
// back, the gradient mask of the ReLU and dropout before it) cost no
// dispatch, no barrier and no pass over memory of their own. Each step is
// the unfused kernel's arithmetic, so fused and unfused agree to the bit:
//   bias      v + bias                  (bias_add.comp: one float add)
//   ReLU      on the bits               (relu.comp)
//   dropout   the draw and divRNBy      (dropout.comp)
//   mask      dy/(1-p) where y > 0      (ReLUDropoutBackward, on the bits)
//
// The includer, after `#extension GL_GOOGLE_include_directive : require`:
//  - defines EPI_BINDING, the first of three bindings it leaves free:
//    EPI_BINDING (the per-column bias), +1 (the counters), +2 (the mask y);
//    unused ones bind any buffer, and are never read;
//  - includes this file before its push-constant block, and puts
//    EPILOGUE_PUSH at the end of the block;
//  - calls EPILOGUE_BEGIN() once per invocation before epilogue(v, i, bias),
//    which returns the bits to store for output value v at flat index i of
//    the output tensor (bias: the value to add, 0 without).
// Specialization constants 10-13 are the epilogue's.

#ifndef VKCNN_EPILOGUE_GLSL
#define VKCNN_EPILOGUE_GLSL

#include "random.glsl"

layout(constant_id = 10) const bool EPI_BIAS = false;
layout(constant_id = 11) const bool EPI_RELU = false;
layout(constant_id = 12) const bool EPI_DROPOUT = false;
// 0: no mask; 1: ReLU's (keep the bits where y > 0); 2: ReLU then dropout's
// (divide by 1-p where y > 0).
layout(constant_id = 13) const uint EPI_MASK = 0;

// The epilogue divides exactly (divRNBy, a loop): a long store for
// gemm.glsl, which then stores in a loop rather than unrolled.
#define GEMM_HEAVY_STORE (EPI_DROPOUT || EPI_MASK == 2u)

layout(std430, set = 0, binding = EPI_BINDING) readonly buffer EpiBias { float epiBias[]; };
layout(std430, set = 0, binding = EPI_BINDING + 1) readonly buffer EpiCtr { uint epiCtr[]; };
layout(std430, set = 0, binding = EPI_BINDING + 2) readonly buffer EpiMask { uint epiMask[]; };

// The push constants: the dropout's PCG(PCG(seed)+stream) prefix, its
// probability and the bits of its float32(1-p); the mask's 1-p bits.
#define EPILOGUE_PUSH uint epiPrefix; float epiProb; uint epiKeep; uint epiMaskKeep;
// EPILOGUE_BEGIN() starts the epilogue from the includer's push constants p.
#define EPILOGUE_BEGIN() epilogueBegin(p.epiPrefix, p.epiProb, p.epiKeep, p.epiMaskKeep)

uint epiHash;      // the dropout's hash of this step
float epiProb;     // its probability
uint epiKeep;      // the bits of float32(1-p)
float epiRcp;      // 1/(1-p) estimate for divRNBy
uint epiMaskKeep;  // the mask's 1-p, and its estimate
float epiMaskRcp;

void epilogueBegin(uint prefix, float prob, uint keep, uint maskKeep) {
	if (EPI_DROPOUT) {
		epiHash = pcg(prefix + epiCtr[0]);
		epiProb = prob;
		epiKeep = keep;
		epiRcp = 1.0 / uintBitsToFloat(keep);
	}
	if (EPI_MASK == 2u) {
		epiMaskKeep = maskKeep;
		epiMaskRcp = 1.0 / uintBitsToFloat(maskKeep);
	}
}

// epiPositive says the float with bits v is > 0 (false for NaN and -0).
bool epiPositive(uint v) {
	return int(v) > 0 && v <= 0x7f800000u;
}

uint epilogue(float v, uint i, float bias) {
	// precise: the add rounds on its own, as bias_add's does, never
	// contracted with the GEMM's last multiply.
	precise float s = EPI_BIAS ? v + bias : v;
	uint u = floatBitsToUint(s);
	if (EPI_RELU) {
		u = epiPositive(u) ? u : 0u;
	}
	if (EPI_DROPOUT) {
		bool kept = uniformOf(pcg(epiHash + i)) >= epiProb;
		u = kept ? divRNBy(u, epiKeep, epiRcp) : 0u;
	}
	if (EPI_MASK != 0u) {
		bool pass = epiPositive(epiMask[i]);
		if (EPI_MASK == 2u) {
			u = pass ? divRNBy(u, epiMaskKeep, epiMaskRcp) : 0u;
		} else {
			u = pass ? u : 0u;
		}
	}
	return u;
}

#endif
