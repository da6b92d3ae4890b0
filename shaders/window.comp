#version 450
// The training window's picture (see window.glsl), stored as rgba8: into
// R8G8B8A8 swapchain images, or into an image that is copied into the
// swapchain's.
#extension GL_GOOGLE_include_directive : require

layout(set = 0, binding = 0, rgba8) uniform writeonly image2D picture;

#include "window.glsl"
