/** The plain snapshot of an HDF5 file that the HDF5 reader's thread (h5worker.ts) sends to the engine (h5.ts). */

export interface SnapAttr {
  value?: unknown;
  /** Why the value could not be read. */
  error?: string;
}

export interface SnapGroup {
  kind: 'group';
  attrs: Record<string, SnapAttr>;
  children: Record<string, SnapNode>;
  error?: string;
}

export interface SnapDataset {
  kind: 'dataset';
  attrs: Record<string, SnapAttr>;
  shape: number[];
  /** h5wasm's dtype, as JSON (for messages). */
  dtype: string;
  /** The values as float32, when they are numbers and could be read. */
  data?: Float32Array;
  /** Why the values were not read (a phrase following "weight <name>"). */
  error?: string;
  /** The error is a type this reader does not support (rather than damage). */
  unsupported?: boolean;
}

export type SnapNode = SnapGroup | SnapDataset;

export interface H5ReadRequest {
  id: number;
  bytes: Uint8Array;
  /** Bytes of dataset values that may be read in all (the engine's memory budget). */
  maxBytes: number;
}

export interface H5ReadReply {
  id: number;
  ok?: SnapGroup;
  /** One phrase following the file's name. */
  err?: string;
  /** The HDF5 library trapped: its thread must be replaced. */
  trap?: boolean;
}
