/**
 * The comparison pages: two models' cross test and node matching, and two nodes' pages side by side. Types
 * only (re-exported by `webviewProtocol.ts`, whose table of page kinds names them).
 */
import type { CompareResult } from './protocol';
import type { ModelSummary, NodePageMessage, PanelState } from './webviewProtocol';

/** The comparison of two models (`compare` engine request): cross test and node matching. */
export interface ComparePageMessage {
  type: 'compare';
  title: string;
  state: PanelState;
  /** Model A (the panel's model). */
  model: ModelSummary;
  /** Model B, as its lens file runs it. */
  other: ModelSummary;
  /** How the two models' layers differ (`architectureDifference`); absent: the same architecture. */
  architectureDifference?: string;
  result: CompareResult;
}
/** Node pages of two models side by side: node `node` of A's `layer` and node `otherNode` of B's `otherLayer`. */
export interface CompareNodesPageMessage {
  type: 'compareNodes';
  title: string;
  state: PanelState;
  /** Model A (the panel's model). */
  model: ModelSummary;
  other: ModelSummary;
  architectureDifference?: string;
  a: NodePageMessage;
  b: NodePageMessage;
}
