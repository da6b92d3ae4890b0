#version 450
// The training window's picture (see window.glsl), stored without a format
// qualifier, so the image's own format converts the stores: drawing straight
// into swapchain images of other formats (B8G8R8A8). It needs the device
// feature shaderStorageImageWriteWithoutFormat.
#extension GL_GOOGLE_include_directive : require

layout(set = 0, binding = 0) uniform writeonly image2D picture;

#include "window.glsl"
