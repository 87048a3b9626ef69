// The parts of Home Assistant's `hass` object the panel uses, and the Double Take API.

export interface HassConnection {
  subscribeMessage<T>(
    callback: (message: T) => void,
    message: Record<string, unknown>,
  ): Promise<() => Promise<void>>;
}

export interface HomeAssistant {
  callWS<T>(message: Record<string, unknown>): Promise<T>;
  fetchWithAuth(path: string, init?: RequestInit): Promise<Response>;
  connection: HassConnection;
  language?: string;
  locale?: { language?: string };
  themes?: { darkMode?: boolean };
  user?: { is_admin?: boolean };
}

export interface Route {
  prefix: string;
  path: string;
}

export interface Box {
  top: number;
  left: number;
  width: number;
  height: number;
}

export interface Detection {
  detector: string;
  name?: string | null;
  confidence?: number;
  box?: Box;
  kind?: string;
  reason?: string | null;
  error?: string;
}

export type Kind = "match" | "miss" | "unknown";

export interface FaceResult {
  id: number;
  time: string;
  source: string;
  camera: string;
  event_id: string;
  kind: Kind;
  name: string;
  confidence: number;
  detector: string;
  box: Box;
  detections: Detection[];
  corrected: boolean;
  image_url: string | null;
  face_url: string | null;
}

export interface ResultsPage {
  results: FaceResult[];
  next: number | null;
}

export interface Person {
  name: string;
  train_images: number;
  detectors: string[];
  last_seen: { time: string; camera: string } | null;
  face_url: string | null;
}

export interface TrainImage {
  file: string;
  url: string | null;
  trained: string[];
}

export interface DetectorInfo {
  id: string;
  name: string;
  kind: string;
  cameras: string[];
  status: "ok" | "failing";
  checked: boolean;
  failing_since: string | null;
  last_error: string | null;
  last_activity: string | null;
  trained: string[];
  trained_images: number;
}

export interface Rules {
  confidence: number;
  unknown_confidence: number;
  min_face_area: number;
}

export interface Info {
  config_entry_id: string;
  entries: { config_entry_id: string; title: string }[];
  frigate: boolean;
  frigate_available: boolean;
  save_unknown: boolean;
  rules: Rules;
  /** Cameras with settings of their own (options → Camera settings). */
  camera_rules: Record<string, Rules>;
  cameras: string[];
  detectors: DetectorInfo[];
}

export interface TrainResponse {
  name: string;
  trained: { file: string; detector: string }[];
  skipped: { file: string; detector: string }[];
  failed: { file: string; detector: string; error: string }[];
}

export interface TrainAllResponse {
  results: TrainResponse[];
  failed: { name: string; error: string }[];
}

export interface Filters {
  kind?: Kind;
  name?: string;
  camera?: string;
}

export const MAX_UPLOAD_FILES = 20;
export const OPTIONS_URL = "/config/integrations/integration/double_take";

/** Calls of the review API and the panel's own commands, bound to one config entry. */
export class Api {
  constructor(
    readonly hass: HomeAssistant,
    readonly entryId: string | undefined,
  ) {}

  private call<T>(type: string, fields: Record<string, unknown> = {}): Promise<T> {
    const message: Record<string, unknown> = { type, ...fields };
    if (this.entryId) message.config_entry_id = this.entryId;
    return this.hass.callWS<T>(message);
  }

  info(): Promise<Info> {
    return this.call("double_take/info");
  }

  results(filters: Filters, before?: number | null, limit = 50): Promise<ResultsPage> {
    const fields: Record<string, unknown> = { limit };
    if (filters.kind) fields.kind = filters.kind;
    if (filters.name) fields.name = filters.name;
    if (filters.camera) fields.camera = filters.camera;
    if (before != null) fields.before = before;
    return this.call("double_take/results", fields);
  }

  subscribeResults(callback: (results: FaceResult[]) => void): Promise<() => Promise<void>> {
    const message: Record<string, unknown> = { type: "double_take/subscribe_results" };
    if (this.entryId) message.config_entry_id = this.entryId;
    return this.hass.connection.subscribeMessage<{ results: FaceResult[] }>(
      (event) => callback(event.results),
      message,
    );
  }

  persons(): Promise<{ persons: Person[] }> {
    return this.call("double_take/persons");
  }

  assign(resultId: number, name: string): Promise<TrainResponse> {
    return this.call("double_take/assign", { result_id: resultId, name });
  }

  deleteResults(ids: number[]): Promise<{ deleted: number }> {
    return this.call("double_take/delete_results", { result_ids: ids });
  }

  trainImages(name: string): Promise<{ images: TrainImage[] }> {
    return this.call("double_take/train_images", { name });
  }

  deleteTrainImage(name: string, file: string): Promise<unknown> {
    return this.call("double_take/delete_train_image", { name, file });
  }

  trainAll(): Promise<TrainAllResponse> {
    return this.call("double_take/train_all");
  }

  removePerson(name: string): Promise<{ name: string; deleted_images: number }> {
    return this.call("double_take/remove_person", { name, delete_images: true });
  }

  /** Upload images of `name` (in requests of at most MAX_UPLOAD_FILES) and train. */
  async upload(name: string, files: File[]): Promise<TrainResponse[]> {
    const answers: TrainResponse[] = [];
    for (let start = 0; start < files.length; start += MAX_UPLOAD_FILES) {
      const form = new FormData();
      for (const file of files.slice(start, start + MAX_UPLOAD_FILES)) {
        form.append("file", file, file.name);
      }
      let url = `/api/double_take/train/${encodeURIComponent(name)}`;
      if (this.entryId) url += `?config_entry_id=${encodeURIComponent(this.entryId)}`;
      const response = await this.hass.fetchWithAuth(url, { method: "POST", body: form });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        throw new Error(body.message || `Upload failed (${response.status})`);
      }
      answers.push(body as TrainResponse);
    }
    return answers;
  }
}

/** The message of an error of callWS (an object with `message`) or of anything else. */
export function errorText(err: unknown): string {
  if (err && typeof err === "object" && "message" in err) {
    return String((err as { message: unknown }).message);
  }
  return String(err);
}

/** Navigate inside Home Assistant's frontend without reloading the page. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  window.dispatchEvent(new CustomEvent("location-changed", { detail: { replace } }));
}

export function fire(node: EventTarget, type: string, detail: unknown = {}): void {
  node.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
}

/** "5 min ago", "yesterday" … in the user's language. */
export function relativeTime(iso: string | null | undefined, language?: string): string {
  if (!iso) return "";
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const format = new Intl.RelativeTimeFormat(language || undefined, { numeric: "auto" });
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let value = seconds;
  for (const [size, unit] of steps) {
    if (Math.abs(value) < size) return format.format(Math.round(value), unit);
    value /= size;
  }
  return "";
}

export function absoluteTime(iso: string | null | undefined, language?: string): string {
  if (!iso) return "";
  return new Date(iso).toLocaleString(language || undefined);
}

export function isImage(file: File): boolean {
  return file.type.startsWith("image/") || /\.(jpe?g|png|gif|webp|bmp)$/i.test(file.name);
}
