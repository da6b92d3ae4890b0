#include "shim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef void (*PFN_void)(void);
typedef PFN_void (*PFN_getProc)(void *instance, const char *name);

static PFN_getProc getProc;

void *vkcnn_proc(void *instance, const char *name) { return getProc == NULL ? NULL : (void *)getProc(instance, name); }

void *vkcnn_open_loader(const char *name, const char **err) {
	*err = NULL;
	void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (lib == NULL) {
		*err = dlerror();
		return NULL;
	}
	PFN_getProc proc = (PFN_getProc)dlsym(lib, "vkGetInstanceProcAddr");
	if (proc == NULL) {
		*err = "the library has no vkGetInstanceProcAddr";
		dlclose(lib);
		return NULL;
	}
	getProc = proc;
	return (void *)getProc;
}

// Structure layouts from the Vulkan specification (1.1 core and extensions).
enum {
	sTypeProperties2 = 1000059001,
	sTypeSubgroupProperties = 1000094000,
	sTypeDriverProperties = 1000196000,
	sTypeMessengerCreateInfo = 1000128004,
};

typedef struct {
	uint32_t sType;
	void *pNext;
	// VkPhysicalDeviceProperties is 824 bytes on 64-bit targets; the
	// driver writes only that much, so extra room is harmless.
	uint64_t properties[160];
} props2_t;

typedef struct {
	uint32_t sType;
	void *pNext;
	uint32_t subgroupSize;
	uint32_t supportedStages;
	uint32_t supportedOperations;
	uint32_t quadOperationsInAllStages;
} subgroup_t;

typedef struct {
	uint32_t sType;
	void *pNext;
	uint32_t driverID;
	char driverName[256];
	char driverInfo[256];
	uint8_t conformanceVersion[4];
} driver_t;

int vkcnn_properties2(void *instance, void *physicalDevice, int hasDriverProps, vkcnn_props2 *out) {
	typedef void (*fn_t)(void *, props2_t *);
	fn_t fn = (fn_t)getProc(instance, "vkGetPhysicalDeviceProperties2");
	if (fn == NULL) {
		fn = (fn_t)getProc(instance, "vkGetPhysicalDeviceProperties2KHR");
	}
	if (fn == NULL) {
		return 0;
	}
	driver_t driver;
	memset(&driver, 0, sizeof driver);
	driver.sType = sTypeDriverProperties;
	subgroup_t subgroup;
	memset(&subgroup, 0, sizeof subgroup);
	subgroup.sType = sTypeSubgroupProperties;
	subgroup.pNext = hasDriverProps ? &driver : NULL;
	props2_t props;
	memset(&props, 0, sizeof props);
	props.sType = sTypeProperties2;
	props.pNext = &subgroup;
	fn(physicalDevice, &props);

	memset(out, 0, sizeof *out);
	out->subgroupSize = subgroup.subgroupSize;
	out->subgroupStages = subgroup.supportedStages;
	out->subgroupOps = subgroup.supportedOperations;
	if (hasDriverProps) {
		out->hasDriver = 1;
		out->driverID = driver.driverID;
		memcpy(out->driverName, driver.driverName, sizeof out->driverName);
		memcpy(out->driverInfo, driver.driverInfo, sizeof out->driverInfo);
		out->driverName[255] = 0;
		out->driverInfo[255] = 0;
	}
	return 1;
}

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	const char *pMessageIdName;
	int32_t messageIdNumber;
	const char *pMessage;
} callback_data_t;

typedef uint32_t (*callback_t)(uint32_t severity, uint32_t types, const callback_data_t *data, void *user);

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t messageSeverity;
	uint32_t messageType;
	callback_t pfnUserCallback;
	void *pUserData;
} messenger_info_t;

enum {
	severityWarning = 0x100,
	severityError = 0x1000,
	typeGeneral = 1,
	typeValidation = 2,
	typePerformance = 4,
};

// messenger_t is one instance's messenger and what it has heard; the
// callback gets it as pUserData.
struct vkcnn_messenger {
	pthread_mutex_t mu;
	uint32_t errors, warnings;
	char firstError[2048];
	uint64_t handle;
};

static uint32_t onMessage(uint32_t severity, uint32_t types, const callback_data_t *data, void *user) {
	(void)types;
	vkcnn_messenger *m = user;
	pthread_mutex_lock(&m->mu);
	if (severity & severityError) {
		if (m->errors == 0 && data != NULL && data->pMessage != NULL) {
			strncpy(m->firstError, data->pMessage, sizeof m->firstError - 1);
			m->firstError[sizeof m->firstError - 1] = 0;
		}
		m->errors++;
	} else if (severity & severityWarning) {
		m->warnings++;
	}
	pthread_mutex_unlock(&m->mu);
	return 0; // VK_FALSE: never abort the call
}

int vkcnn_messenger_create(void *instance, vkcnn_messenger **out) {
	typedef int (*fn_t)(void *, const messenger_info_t *, const void *, uint64_t *);
	*out = NULL;
	fn_t fn = (fn_t)getProc(instance, "vkCreateDebugUtilsMessengerEXT");
	if (fn == NULL) {
		return -7; // VK_ERROR_EXTENSION_NOT_PRESENT
	}
	vkcnn_messenger *m = calloc(1, sizeof *m);
	if (m == NULL) {
		return -1; // VK_ERROR_OUT_OF_HOST_MEMORY
	}
	pthread_mutex_init(&m->mu, NULL);
	messenger_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = sTypeMessengerCreateInfo;
	info.messageSeverity = severityWarning | severityError;
	info.messageType = typeGeneral | typeValidation | typePerformance;
	info.pfnUserCallback = onMessage;
	info.pUserData = m;
	int r = fn(instance, &info, NULL, &m->handle);
	if (r != 0) {
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

void vkcnn_messenger_destroy(void *instance, vkcnn_messenger *m) {
	typedef void (*fn_t)(void *, uint64_t, const void *);
	if (m == NULL) {
		return;
	}
	fn_t fn = (fn_t)getProc(instance, "vkDestroyDebugUtilsMessengerEXT");
	if (fn != NULL) {
		fn(instance, m->handle, NULL);
	}
	pthread_mutex_destroy(&m->mu);
	free(m);
}

uint32_t vkcnn_validation_take(vkcnn_messenger *m, char *buf, uint32_t bufLen, uint32_t *warnings) {
	*warnings = 0;
	if (m == NULL) {
		return 0;
	}
	pthread_mutex_lock(&m->mu);
	uint32_t n = m->errors;
	*warnings = m->warnings;
	if (bufLen > 0) {
		strncpy(buf, m->firstError, bufLen - 1);
		buf[bufLen - 1] = 0;
	}
	m->errors = 0;
	m->warnings = 0;
	m->firstError[0] = 0;
	pthread_mutex_unlock(&m->mu);
	return n;
}

// vulkan-go frees the C copies of slice arguments from finalizers that may
// run while a long call still reads them (seen: a crash inside
// vkCreateComputePipelines under GC pressure). The two long calls whose
// arguments hold slices are made here, from C memory, instead.

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t queueFamilyIndex;
	uint32_t queueCount;
	const float *pQueuePriorities;
} queue_info_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t queueCreateInfoCount;
	const queue_info_t *pQueueCreateInfos;
	uint32_t enabledLayerCount;
	const char *const *ppEnabledLayerNames;
	uint32_t enabledExtensionCount;
	const char *const *ppEnabledExtensionNames;
	const void *pEnabledFeatures;
} device_info_t;

int vkcnn_create_device(void *instance, void *physicalDevice, uint32_t family, const char *const *extensions,
                        uint32_t nExtensions, const void *features, void **device) {
	typedef int (*fn_t)(void *, const device_info_t *, const void *, void **);
	fn_t fn = (fn_t)getProc(instance, "vkCreateDevice");
	if (fn == NULL) {
		return -3; // VK_ERROR_INITIALIZATION_FAILED
	}
	float priority = 1.0f;
	queue_info_t queue;
	memset(&queue, 0, sizeof queue);
	queue.sType = 2;
	queue.queueFamilyIndex = family;
	queue.queueCount = 1;
	queue.pQueuePriorities = &priority;
	device_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 3;
	info.queueCreateInfoCount = 1;
	info.pQueueCreateInfos = &queue;
	info.enabledExtensionCount = nExtensions;
	info.ppEnabledExtensionNames = extensions;
	info.pEnabledFeatures = features;
	return fn(physicalDevice, &info, NULL, device);
}

typedef struct {
	uint32_t constantID;
	uint32_t offset;
	size_t size;
} spec_entry_t;

typedef struct {
	uint32_t mapEntryCount;
	const spec_entry_t *pMapEntries;
	size_t dataSize;
	const void *pData;
} spec_info_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	uint32_t stage;
	uint64_t module;
	const char *pName;
	const spec_info_t *pSpecializationInfo;
} stage_info_t;

typedef struct {
	uint32_t sType;
	const void *pNext;
	uint32_t flags;
	stage_info_t stage;
	uint64_t layout;
	uint64_t basePipelineHandle;
	int32_t basePipelineIndex;
} pipeline_info_t;

int vkcnn_create_compute_pipeline(void *instance, void *device, uint64_t cache, uint64_t module, uint64_t layout,
                                  const uint32_t *spec, uint32_t specCount, uint64_t *pipeline) {
	typedef int (*fn_t)(void *, uint64_t, uint32_t, const pipeline_info_t *, const void *, uint64_t *);
	fn_t fn = (fn_t)getProc(instance, "vkCreateComputePipelines");
	if (fn == NULL) {
		return -3; // VK_ERROR_INITIALIZATION_FAILED
	}
	spec_entry_t entries[64];
	if (specCount > 64) {
		return -3;
	}
	for (uint32_t i = 0; i < specCount; i++) {
		entries[i].constantID = i;
		entries[i].offset = 4 * i;
		entries[i].size = 4;
	}
	spec_info_t si = {specCount, entries, 4 * (size_t)specCount, spec};
	pipeline_info_t info;
	memset(&info, 0, sizeof info);
	info.sType = 29;
	info.stage.sType = 18;
	info.stage.stage = 0x20; // VK_SHADER_STAGE_COMPUTE_BIT
	info.stage.module = module;
	info.stage.pName = "main";
	info.stage.pSpecializationInfo = specCount > 0 ? &si : NULL;
	info.layout = layout;
	info.basePipelineIndex = -1;
	return fn(device, cache, 1, &info, NULL, pipeline);
}
