import type { NativeCapabilities, NativeDevice, NativeMeterAvailability } from './binding.js';
import { loadBinding } from './load.js';

export function capabilities(): NativeCapabilities {
  return loadBinding().capabilities();
}

export function listDevices(): NativeDevice[] {
  return loadBinding().listDevices();
}

export function listMeters(): NativeMeterAvailability[] {
  return loadBinding().listMeters();
}
