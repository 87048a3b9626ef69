import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { property, state } from "lit/decorators.js";
import {
  OPTIONS_URL,
  absoluteTime,
  errorText,
  fire,
  relativeTime,
  type Api,
  type Detection,
  type FaceResult,
  type Filters,
  type Info,
  type Kind,
} from "./api";
import { icon, mdi, shared } from "./styles";
import { confirmDialog, define, haLink, stop } from "./ui";

const PAGE = 60;
const KIND_LABELS: Record<Kind, string> = { match: "Match", miss: "Miss", unknown: "Unknown" };

function displayName(result: FaceResult): string {
  return result.kind === "unknown" ? "Unknown" : result.name;
}

function percent(value: number | undefined): string {
  return value == null ? "–" : `${Math.round(value * 10) / 10} %`;
}

/** The Faces tab: recent faces, filters, detail, "This is…", delete, live updates. */
export class DtFaces extends LitElement {
  @property({ attribute: false }) api!: Api;
  @property({ attribute: false }) info!: Info;
  @property({ type: Boolean }) narrow = false;

  @state() private results: FaceResult[] = [];
  @state() private next: number | null = null;
  @state() private loading = false;
  @state() private loaded = false;
  @state() private error = "";
  @state() private filters: Filters = {};
  @state() private selected = new Set<number>();
  @state() private detail: FaceResult | null = null;
  @state() private frameSize: { width: number; height: number } | null = null;
  @state() private assignIds: number[] | null = null;
  @state() private assignName = "";
  @state() private deleteIds: number[] | null = null;
  @state() private busy = false;
  @state() private dialogError = "";
  @state() private persons: string[] = [];

  private generation = 0;
  private unsubscribe?: Promise<() => Promise<void>>;
  private observer?: IntersectionObserver;

  connectedCallback(): void {
    super.connectedCallback();
    if (this.api) this.start();
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.stop();
  }

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("api") && changed.get("api") !== undefined && this.isConnected) {
      this.stop();
      this.filters = {};
      this.start();
    } else if (changed.has("api") && this.isConnected && !this.unsubscribe) {
      this.start();
    }
  }

  protected updated(): void {
    const sentinel = this.renderRoot.querySelector(".sentinel");
    if (!sentinel) return;
    this.observer ??= new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    });
    this.observer.disconnect();
    this.observer.observe(sentinel);
  }

  private start(): void {
    this.reload();
    this.loadPersons();
    const api = this.api;
    this.unsubscribe = api.subscribeResults((results) => {
      if (api === this.api) this.received(results);
    });
    this.unsubscribe.catch((err) => (this.error = errorText(err)));
  }

  private stop(): void {
    this.observer?.disconnect();
    this.observer = undefined;
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    unsubscribe?.then((unsub) => unsub()).catch(() => undefined);
  }

  private async loadPersons(): Promise<void> {
    try {
      const { persons } = await this.api.persons();
      this.persons = persons.map((person) => person.name);
    } catch (err) {
      this.error = errorText(err);
    }
  }

  private async reload(): Promise<void> {
    this.generation += 1;
    this.results = [];
    this.next = null;
    this.loaded = false;
    this.selected = new Set();
    await this.fetchPage(null);
  }

  private loadMore(): void {
    if (!this.loading && this.next != null) this.fetchPage(this.next);
  }

  private async fetchPage(before: number | null): Promise<void> {
    const generation = this.generation;
    this.loading = true;
    this.error = "";
    try {
      const page = await this.api.results(this.filters, before, PAGE);
      if (generation !== this.generation) return;
      const known = new Set(this.results.map((result) => result.id));
      this.results = [...this.results, ...page.results.filter((result) => !known.has(result.id))];
      this.next = page.next;
    } catch (err) {
      if (generation === this.generation) this.error = errorText(err);
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        this.loaded = true;
      }
    }
  }

  private passesFilters(result: FaceResult): boolean {
    const { kind, name, camera } = this.filters;
    return (
      (!kind || result.kind === kind) &&
      (!name || result.name.toLowerCase() === name.toLowerCase()) &&
      (!camera || result.camera === camera)
    );
  }

  private received(results: FaceResult[]): void {
    const known = new Set(this.results.map((result) => result.id));
    const fresh = results
      .filter((result) => !known.has(result.id) && this.passesFilters(result))
      .sort((a, b) => b.id - a.id);
    if (fresh.length) this.results = [...fresh, ...this.results];
    for (const result of results) {
      if (result.kind === "match" && !this.persons.some((p) => p.toLowerCase() === result.name.toLowerCase())) {
        this.loadPersons();
        break;
      }
    }
  }

  private setFilter(key: keyof Filters, value: string): void {
    this.filters = { ...this.filters, [key]: value || undefined };
    this.reload();
  }

  private toggle(id: number): void {
    const selected = new Set(this.selected);
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    this.selected = selected;
  }

  private openTile(result: FaceResult): void {
    if (this.selected.size) {
      this.toggle(result.id);
      return;
    }
    this.detail = result;
    this.frameSize = null;
  }

  private openAssign(ids: number[]): void {
    this.assignIds = ids;
    const first = this.results.find((result) => result.id === ids[0]);
    this.assignName = first && first.kind !== "unknown" ? first.name : "";
    this.dialogError = "";
  }

  private async assign(): Promise<void> {
    const name = this.assignName.trim();
    const ids = this.assignIds;
    if (!name || !ids || this.busy) return;
    this.busy = true;
    this.dialogError = "";
    try {
      for (const id of ids) {
        const report = await this.api.assign(id, name);
        this.replace(id, { kind: "match", name: report.name, corrected: true });
      }
      this.assignIds = null;
      this.selected = new Set();
      this.loadPersons();
      fire(this, "dt-changed");
    } catch (err) {
      this.dialogError = errorText(err);
    } finally {
      this.busy = false;
    }
  }

  private replace(id: number, changes: Partial<FaceResult>): void {
    this.results = this.results.map((result) => (result.id === id ? { ...result, ...changes } : result));
    if (this.detail?.id === id) this.detail = { ...this.detail, ...changes };
  }

  private async delete(): Promise<void> {
    const ids = this.deleteIds;
    if (!ids || this.busy) return;
    this.busy = true;
    this.dialogError = "";
    try {
      for (let start = 0; start < ids.length; start += 200) {
        await this.api.deleteResults(ids.slice(start, start + 200));
      }
      const gone = new Set(ids);
      this.results = this.results.filter((result) => !gone.has(result.id));
      this.selected = new Set([...this.selected].filter((id) => !gone.has(id)));
      if (this.detail && gone.has(this.detail.id)) this.detail = null;
      this.deleteIds = null;
    } catch (err) {
      this.dialogError = errorText(err);
    } finally {
      this.busy = false;
    }
  }

  // -- rendering -------------------------------------------------------------------------

  protected render(): TemplateResult {
    return html`
      ${this.renderBanners()} ${this.renderToolbar()}
      ${this.error ? html`<p class="error" data-testid="faces-error">${this.error}</p>` : nothing}
      ${this.renderGrid()}
      ${this.detail ? this.renderDetail(this.detail) : nothing}
      ${this.assignIds ? this.renderAssign(this.assignIds) : nothing}
      ${this.deleteIds
        ? confirmDialog({
            title: this.deleteIds.length === 1 ? "Delete this face?" : `Delete ${this.deleteIds.length} faces?`,
            text: "The faces go from the history with their frames and crops. Training images are not touched.",
            confirm: "Delete",
            busy: this.busy,
            error: this.dialogError,
            onConfirm: () => this.delete(),
            onCancel: () => (this.deleteIds = null),
          })
        : nothing}
    `;
  }

  private renderBanners(): TemplateResult {
    const info = this.info;
    return html`
      ${info.detectors.length
        ? nothing
        : html`<div class="banner warning" data-testid="empty-no-detector">
            <span
              ><b>No detector yet.</b> Nothing is recognized until you add one: open
              ${haLink(OPTIONS_URL, "Double Take's settings")} and choose <i>Add detector</i> (the
              built-in <i>Local</i> detector needs no server).</span
            >
          </div>`}
      ${info.frigate
        ? nothing
        : html`<div class="banner info" data-testid="empty-no-frigate">
            <span
              ><b>Not connected to Frigate.</b> Faces come only from the
              <code>double_take.recognize</code> action. To process Frigate's events, reconfigure
              ${haLink(OPTIONS_URL, "the integration")} with your Frigate URL.</span
            >
          </div>`}
      ${!info.save_unknown && this.filters.kind === "unknown"
        ? html`<div class="banner info" data-testid="empty-save-unknown">
            <span
              ><b>Unknown faces are not kept.</b> Turn on <i>save_unknown</i> in
              ${haLink(OPTIONS_URL, "the integration's options")} (⋮ → Configure) to review and
              name strangers here.</span
            >
          </div>`
        : nothing}
    `;
  }

  private renderToolbar(): TemplateResult {
    const count = this.selected.size;
    if (count) {
      return html`<div class="toolbar selection" data-testid="selection-bar">
        <button class="icon-btn" title="Clear selection" data-testid="select-clear" @click=${() => (this.selected = new Set())}>
          ${icon(mdi.close)}
        </button>
        <span class="count" data-testid="selection-count">${count} selected</span>
        <span class="spacer"></span>
        <button class="btn" data-testid="select-all" @click=${() => (this.selected = new Set(this.results.map((r) => r.id)))}>
          All
        </button>
        <button class="btn primary" data-testid="assign-selected" @click=${() => this.openAssign([...this.selected])}>
          This is…
        </button>
        <button class="btn danger" data-testid="delete-selected" @click=${() => {
          this.dialogError = "";
          this.deleteIds = [...this.selected];
        }}>
          Delete
        </button>
      </div>`;
    }
    const { kind, name, camera } = this.filters;
    return html`<div class="toolbar">
      <select data-testid="filter-kind" aria-label="Kind" @change=${(e: Event) => this.setFilter("kind", (e.target as HTMLSelectElement).value)}>
        <option value="" ?selected=${!kind}>All faces</option>
        <option value="match" ?selected=${kind === "match"}>Matches</option>
        <option value="miss" ?selected=${kind === "miss"}>Misses</option>
        <option value="unknown" ?selected=${kind === "unknown"}>Unknown</option>
      </select>
      <select data-testid="filter-person" aria-label="Person" @change=${(e: Event) => this.setFilter("name", (e.target as HTMLSelectElement).value)}>
        <option value="" ?selected=${!name}>Everyone</option>
        ${this.persons.map((person) => html`<option value=${person} ?selected=${name === person}>${person}</option>`)}
      </select>
      <select data-testid="filter-camera" aria-label="Camera" @change=${(e: Event) => this.setFilter("camera", (e.target as HTMLSelectElement).value)}>
        <option value="" ?selected=${!camera}>All cameras</option>
        ${this.info.cameras.map((cam) => html`<option value=${cam} ?selected=${camera === cam}>${cam}</option>`)}
      </select>
      <button class="icon-btn refresh" title="Refresh" data-testid="faces-refresh" @click=${() => this.reload()}>
        ${icon(mdi.refresh)}
      </button>
    </div>`;
  }

  private renderGrid(): TemplateResult {
    if (!this.loaded && this.loading) return html`<p class="secondary loading">Loading…</p>`;
    if (this.loaded && !this.results.length) {
      const filtered = Boolean(this.filters.kind || this.filters.name || this.filters.camera);
      if (filtered) {
        return html`<div class="empty" data-testid="empty-filtered">
          <h2>No faces match these filters</h2>
          <p><button class="btn" @click=${() => { this.filters = {}; this.reload(); }}>Show all faces</button></p>
        </div>`;
      }
      return html`<div class="empty" data-testid="empty-faces">
        <h2>No faces seen yet</h2>
        <p>
          Faces appear here, newest first, ${this.info.frigate ? "as soon as Frigate reports a person, or" : ""} when
          you run the <code>double_take.recognize</code> action. Matches and misses are always kept${this.info
            .save_unknown
            ? ", and unknown faces too."
            : "."}
        </p>
        ${this.info.save_unknown
          ? nothing
          : html`<p data-testid="empty-save-unknown">
              Unknown faces are not kept: turn on <i>save_unknown</i> in ${haLink(OPTIONS_URL, "the options")} to
              see strangers here and name them.
            </p>`}
      </div>`;
    }
    const language = this.api.hass.locale?.language ?? this.api.hass.language;
    return html`
      <div class="grid" data-testid="face-grid">
        ${this.results.map((result) => {
          const selected = this.selected.has(result.id);
          return html`<div
            class="tile card ${selected ? "selected" : ""}"
            data-testid="face-tile"
            data-id=${result.id}
            data-kind=${result.kind}
            data-name=${result.name}
            role="button"
            tabindex="0"
            @click=${() => this.openTile(result)}
            @keydown=${(e: KeyboardEvent) => e.key === "Enter" && this.openTile(result)}
          >
            <div class="crop">
              ${result.face_url
                ? html`<img src=${result.face_url} loading="lazy" alt=${displayName(result)} />`
                : html`<div class="noimg">${icon(mdi.account)}</div>`}
              <label class="check ${selected ? "on" : ""}" @click=${stop} title="Select">
                <input
                  type="checkbox"
                  data-testid="face-select"
                  .checked=${selected}
                  @change=${() => this.toggle(result.id)}
                />
              </label>
              <span class="badge ${result.kind} kind" title=${result.corrected ? "Named by you" : nothing}
                >${result.corrected ? "✓ " : ""}${KIND_LABELS[result.kind]}</span
              >
            </div>
            <div class="meta">
              <div class="name" data-testid="face-name">${displayName(result)}</div>
              <div class="secondary small">
                ${result.corrected ? result.camera : `${percent(result.confidence)} · ${result.camera}`}
              </div>
              <div class="secondary small" title=${absoluteTime(result.time, language)}>
                ${relativeTime(result.time, language)}
              </div>
            </div>
          </div>`;
        })}
      </div>
      ${this.next != null
        ? html`<div class="sentinel"></div>
            <p class="more">
              <button class="btn" data-testid="load-more" ?disabled=${this.loading} @click=${() => this.loadMore()}>
                ${this.loading ? "Loading…" : "Load more"}
              </button>
            </p>`
        : nothing}
    `;
  }

  private renderDetail(result: FaceResult): TemplateResult {
    const language = this.api.hass.locale?.language ?? this.api.hass.language;
    const size = this.frameSize;
    const box = result.box;
    const boxStyle =
      size && size.width && size.height
        ? `left:${(box.left / size.width) * 100}%;top:${(box.top / size.height) * 100}%;` +
          `width:${(box.width / size.width) * 100}%;height:${(box.height / size.height) * 100}%`
        : "display:none";
    return html`<div class="scrim" @click=${() => (this.detail = null)}>
      <div class="dialog wide detail" role="dialog" aria-modal="true" data-testid="face-detail" @click=${stop}>
        <div class="detail-head">
          <h2>
            ${displayName(result)} <span class="badge ${result.kind}">${KIND_LABELS[result.kind]}</span>
            ${result.corrected ? html`<span class="badge" title="Named by you">corrected</span>` : nothing}
          </h2>
          <button class="icon-btn" title="Close" data-testid="detail-close" @click=${() => (this.detail = null)}>
            ${icon(mdi.close)}
          </button>
        </div>
        <div class="detail-body">
          <div class="frame-wrap">
            ${result.image_url
              ? html`<div class="frame">
                  <img
                    src=${result.image_url}
                    alt="Frame"
                    data-testid="detail-frame"
                    @load=${(e: Event) => {
                      const img = e.target as HTMLImageElement;
                      this.frameSize = { width: img.naturalWidth, height: img.naturalHeight };
                    }}
                  />
                  <div class="box" data-testid="detail-box" style=${boxStyle}></div>
                </div>`
              : html`<p class="secondary">The frame is not kept.</p>`}
          </div>
          <div class="facts">
            <dl>
              <dt>Confidence</dt>
              <dd>
                ${percent(result.confidence)} (${result.detector}${result.corrected ? ", before you named it" : ""})
              </dd>
              <dt>Camera</dt>
              <dd>${result.camera}</dd>
              <dt>Time</dt>
              <dd title=${relativeTime(result.time, language)}>${absoluteTime(result.time, language)}</dd>
              <dt>Source</dt>
              <dd>${result.source}${result.event_id ? html` · <span class="small">${result.event_id}</span>` : nothing}</dd>
              <dt>Face</dt>
              <dd>${box.width} × ${box.height} px (${box.width * box.height} px²)</dd>
            </dl>
            ${this.renderWhy(result)}
          </div>
        </div>
        ${this.renderDetections(result.detections)}
        <div class="actions">
          <button class="btn danger" data-testid="delete-face" @click=${() => {
            this.dialogError = "";
            this.deleteIds = [result.id];
          }}>
            ${icon(mdi.delete)} Delete
          </button>
          <button class="btn primary" data-testid="assign-face" @click=${() => this.openAssign([result.id])}>
            This is…
          </button>
        </div>
      </div>
    </div>`;
  }

  private renderWhy(result: FaceResult): TemplateResult {
    if (result.corrected) {
      // The row's name is yours; its confidence and detections are what the detectors
      // answered before: the rules below would judge your name by their answer.
      const answers = result.detections.filter((d) => !d.error && d.name != null);
      return html`<div class="why" data-testid="detail-why">
        <div><b>A match: you named this face.</b></div>
        <ul>
          <li class="ok">✓ named ${result.name} by you</li>
          ${answers.map(
            (d) => html`<li class="secondary">
              ${d.detector} had answered ${d.name} (${percent(d.confidence)})
            </li>`,
          )}
        </ul>
      </div>`;
    }
    const own = this.info.camera_rules[result.camera];
    const rules = own ?? this.info.rules;
    const area = result.box.width * result.box.height;
    const named = result.name.toLowerCase() !== "unknown";
    const checks: [boolean, string][] = [
      [named, named ? `named ${result.name} by ${result.detector}` : "not known to the detector"],
      ...(result.kind === "unknown" && named
        ? ([
            [
              result.confidence >= rules.unknown_confidence,
              `confidence ${percent(result.confidence)} ${result.confidence >= rules.unknown_confidence ? "≥" : "<"} ${rules.unknown_confidence} % (unknown_confidence)`,
            ],
          ] as [boolean, string][])
        : []),
      [
        result.confidence >= rules.confidence,
        `confidence ${percent(result.confidence)} ${result.confidence >= rules.confidence ? "≥" : "<"} ${rules.confidence} % (confidence)`,
      ],
      [
        area >= rules.min_face_area,
        `face ${area} px² ${area >= rules.min_face_area ? "≥" : "<"} ${rules.min_face_area} px² (min_face_area)`,
      ],
    ];
    if (result.kind === "miss" && checks.every(([ok]) => ok)) {
      // A rule beyond the thresholds: the margin (its detector says so) or agreement.
      const answer = result.detections.find((d) => d.detector === result.detector && d.reason);
      checks.push([
        false,
        answer?.reason ??
          "not matched by enough detectors (min_detectors_agree), or the options changed since",
      ]);
    }
    const verdict =
      result.kind === "match"
        ? "A match: every rule is met."
        : result.kind === "miss"
          ? "A miss: the detector named someone, but not surely enough."
          : `Unknown: nobody known, or confidence below ${rules.unknown_confidence} % (unknown_confidence).`;
    return html`<div class="why" data-testid="detail-why">
      <div><b>${verdict}</b></div>
      <ul>
        ${checks.map(([ok, text]) => html`<li class=${ok ? "ok" : "no"}>${ok ? "✓" : "✗"} ${text}</li>`)}
      </ul>
      <div class="secondary small">
        With the options as they are now${own ? ` (${result.camera}'s own settings)` : ""}.
      </div>
    </div>`;
  }

  private renderDetections(detections: Detection[]): TemplateResult {
    if (!detections.length) return html``;
    return html`<table class="detections" data-testid="detections">
      <thead>
        <tr><th>Detector</th><th>Answer</th><th>Confidence</th><th>Why</th></tr>
      </thead>
      <tbody>
        ${detections.map((d) => {
          const why = d.error
            ? html`<span class="error">error: ${d.error}</span>`
            : d.name == null
              ? "found no face here"
              : d.kind === "match"
                ? html`<span class="badge match">match</span>`
                : (d.reason ?? d.kind ?? "");
          return html`<tr data-testid="detection-row" data-detector=${d.detector}>
            <td>${d.detector}</td>
            <td>${d.error ? "–" : (d.name ?? "–")}</td>
            <td>${d.error || d.name == null ? "–" : percent(d.confidence)}</td>
            <td>${why}</td>
          </tr>`;
        })}
      </tbody>
    </table>`;
  }

  private renderAssign(ids: number[]): TemplateResult {
    const query = this.assignName.trim().toLowerCase();
    const choices = this.persons.filter((person) => !query || person.toLowerCase().includes(query));
    return html`<div class="scrim" @click=${() => !this.busy && (this.assignIds = null)}>
      <div class="dialog" role="dialog" aria-modal="true" data-testid="assign-dialog" @click=${stop}>
        <h2>${ids.length === 1 ? "This is…" : `These ${ids.length} faces are…`}</h2>
        <p class="secondary small">
          The face crop becomes a training image of the person and every detector learns it.
        </p>
        <input
          data-testid="assign-name"
          placeholder="Name (choose or type a new one)"
          autocomplete="off"
          .value=${this.assignName}
          @input=${(e: Event) => (this.assignName = (e.target as HTMLInputElement).value)}
          @keydown=${(e: KeyboardEvent) => e.key === "Enter" && this.assign()}
        />
        <div class="chips">
          ${choices.map(
            (person) => html`<button
              class="chip ${person.toLowerCase() === query ? "on" : ""}"
              data-testid="assign-choice"
              data-name=${person}
              @click=${() => (this.assignName = person)}
            >
              ${person}
            </button>`,
          )}
        </div>
        ${this.dialogError ? html`<p class="error" data-testid="assign-error">${this.dialogError}</p>` : nothing}
        <div class="actions">
          <button class="btn" data-testid="assign-cancel" ?disabled=${this.busy} @click=${() => (this.assignIds = null)}>
            Cancel
          </button>
          <button class="btn primary" data-testid="assign-submit" ?disabled=${this.busy || !query} @click=${() => this.assign()}>
            ${this.busy ? "Training…" : "Save"}
          </button>
        </div>
      </div>
    </div>`;
  }

  static styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .toolbar select {
        flex: 1 1 0;
        min-width: 0;
        max-width: 200px;
      }
      .refresh {
        margin-left: auto;
      }
      .toolbar.selection {
        position: sticky;
        top: 0;
        z-index: 2;
        background: var(--dt-card);
        border: 1px solid var(--dt-divider);
        border-radius: var(--dt-radius);
        padding: 4px 8px;
      }
      .count {
        font-weight: 500;
      }
      .tile {
        overflow: hidden;
        cursor: pointer;
        outline: none;
        position: relative;
      }
      .tile:focus-visible,
      .tile.selected {
        box-shadow: 0 0 0 3px var(--dt-primary);
      }
      .crop {
        position: relative;
        aspect-ratio: 1;
        background: rgba(127, 127, 127, 0.12);
      }
      .crop img {
        width: 100%;
        height: 100%;
        object-fit: cover;
        display: block;
      }
      .noimg {
        display: flex;
        align-items: center;
        justify-content: center;
        height: 100%;
        color: var(--dt-secondary);
      }
      .check {
        position: absolute;
        top: 4px;
        left: 4px;
        width: 32px;
        height: 32px;
        display: flex;
        align-items: center;
        justify-content: center;
        border-radius: 50%;
        background: rgba(0, 0, 0, 0.35);
        opacity: 0;
        transition: opacity 0.15s;
      }
      .check input {
        width: 18px;
        height: 18px;
        min-height: 0;
        margin: 0;
        cursor: pointer;
      }
      .tile:hover .check,
      .check.on,
      .check:focus-within {
        opacity: 1;
      }
      @media (hover: none) {
        .check {
          opacity: 1;
        }
      }
      .kind {
        position: absolute;
        right: 4px;
        bottom: 4px;
      }
      .meta {
        padding: 6px 8px 8px;
        min-width: 0;
      }
      .name {
        font-weight: 500;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .small {
        font-size: 0.85em;
      }
      .meta .small {
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .more {
        text-align: center;
      }
      .sentinel {
        height: 1px;
      }
      .loading {
        text-align: center;
        padding: 24px;
      }
      .detail-head {
        display: flex;
        align-items: flex-start;
        justify-content: space-between;
        gap: 8px;
      }
      .detail-body {
        display: flex;
        flex-wrap: wrap;
        gap: 16px;
      }
      .frame-wrap {
        flex: 2 1 360px;
        min-width: 0;
        text-align: center;
      }
      .frame {
        position: relative;
        display: inline-block;
        max-width: 100%;
      }
      .frame img {
        display: block;
        max-width: 100%;
        max-height: 60vh;
        border-radius: 8px;
      }
      .box {
        position: absolute;
        border: 3px solid var(--dt-primary);
        border-radius: 4px;
        box-shadow: 0 0 0 1px rgba(0, 0, 0, 0.5);
        pointer-events: none;
      }
      .facts {
        flex: 1 1 220px;
        min-width: 0;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 4px 12px;
        margin: 0 0 12px;
      }
      dt {
        color: var(--dt-secondary);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .why ul {
        list-style: none;
        padding: 0;
        margin: 6px 0;
      }
      .why li.ok {
        color: var(--dt-success);
      }
      .why li.no {
        color: var(--dt-error);
      }
      table.detections {
        width: 100%;
        border-collapse: collapse;
        margin-top: 16px;
        font-size: 0.9em;
      }
      .detections th,
      .detections td {
        text-align: left;
        padding: 6px 8px;
        border-bottom: 1px solid var(--dt-divider);
        vertical-align: top;
      }
      .detections th {
        color: var(--dt-secondary);
        font-weight: 500;
      }
      .dialog input[data-testid="assign-name"] {
        width: 100%;
      }
      .chips {
        display: flex;
        flex-wrap: wrap;
        gap: 6px;
        margin-top: 10px;
        max-height: 40vh;
        overflow: auto;
      }
      .chip {
        border: 1px solid var(--dt-divider);
        background: transparent;
        border-radius: 16px;
        padding: 4px 12px;
        min-height: 32px;
      }
      .chip.on {
        background: var(--dt-primary);
        border-color: var(--dt-primary);
        color: var(--dt-on-primary);
      }
      @media (max-width: 600px) {
        .detections th:nth-child(3),
        .detections td:nth-child(3) {
          display: none;
        }
        /* Full screen on a phone: the frame leaves room for the facts, and the title
           (with Close) and the actions stay in view while the rest scrolls. */
        .frame img {
          max-height: 45vh;
        }
        .detail .detail-head,
        .detail .actions {
          position: sticky;
          z-index: 1;
          background: var(--dt-card);
          margin-left: -14px;
          margin-right: -14px;
          padding-left: 14px;
          padding-right: 14px;
        }
        .detail .detail-head {
          top: -14px;
          margin-top: -14px;
          padding-top: 14px;
          margin-bottom: 8px;
        }
        .detail .detail-head h2 {
          margin-bottom: 8px;
        }
        .detail .actions {
          bottom: -14px;
          margin-bottom: -14px;
          padding-top: 10px;
          padding-bottom: calc(14px + env(safe-area-inset-bottom, 0px));
          border-top: 1px solid var(--dt-divider);
        }
      }
    `,
  ];
}

define("dt-faces", DtFaces);
