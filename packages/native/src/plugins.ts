// Users' kernels as plugins (include/etok/plugin.h): what a plugin declares, and its analytic cost per call.
// Errors carry codes: PLUGIN_LOAD, PLUGIN_NO_DESCRIPTOR, PLUGIN_ABI, PLUGIN_BAD_DESCRIPTOR, PLUGIN_COST.
import type { NativeCallCost, NativeKernelRequest, NativePluginInfo } from './binding.js';
import { loadBinding } from './load.js';

export function inspectPlugin(path: string): NativePluginInfo {
  return loadBinding().inspectPlugin(path);
}

export function pluginCost(path: string, request: NativeKernelRequest): NativeCallCost {
  return loadBinding().pluginCost(path, request);
}
