/**
 * The Double Take sidebar panel (`<double-take-panel>`), for administrators.
 *
 * Home Assistant sets `hass`, `narrow`, `route` and `panel`. Tabs follow the URL:
 * `/double-take/faces` (default), `/double-take/people`, `/double-take/detectors`.
 * API: the review API (`double_take/results`, `subscribe_results`, `persons`, `assign`,
 * `delete_results`, `train_images`, `delete_train_image`, `POST /api/double_take/train/{name}`)
 * and the panel's own `double_take/info`, `train_all`, `remove_person` (panel.py).
 *
 * Stable `data-testid`s for browser tests:
 * - panel: `menu-button` (narrow only, fires `hass-toggle-menu`), `tab-faces`, `tab-people`,
 *   `tab-detectors` (`aria-selected`), `entry-select` (several entries), `panel-error`,
 *   `panel-retry`
 * - faces: `filter-kind`, `filter-person`, `filter-camera`, `faces-refresh`, `face-grid`,
 *   `face-tile` (`data-id`, `data-kind`, `data-name`), `face-name`, `face-select` (checkbox),
 *   `load-more`, `faces-error`; selection: `selection-bar`, `selection-count`, `select-all`,
 *   `select-clear`, `assign-selected`, `delete-selected`; detail: `face-detail`,
 *   `detail-frame`, `detail-box`, `detail-why`, `detections`, `detection-row`
 *   (`data-detector`), `detail-close`, `assign-face`, `delete-face`; "This is…":
 *   `assign-dialog`, `assign-name`, `assign-choice` (`data-name`), `assign-submit`,
 *   `assign-cancel`, `assign-error`
 * - confirmations (delete faces, remove person): `confirm-dialog`, `confirm-ok`,
 *   `confirm-cancel`, `confirm-error`
 * - people: `person-card` (`data-name`), `add-person`, `add-person-dialog`,
 *   `new-person-name`, `new-person-files`, `new-person-drop`, `new-person-submit`,
 *   `new-person-cancel`, `add-person-error`; a person: `person-name`, `person-back`,
 *   `remove-person`, `upload-input`, `upload-drop`, `upload-result`, `train-image`
 *   (`data-file`), `delete-train-image`, `people-error`
 * - detectors: `frigate-status`, `train-all`, `train-all-result`, `train-all-error`,
 *   `detector-card` (`data-name`, `data-status`), `detector-status`, `detector-error`,
 *   `detector-trained`
 * - empty states: `empty-no-detector`, `empty-no-frigate`, `empty-save-unknown`,
 *   `empty-faces`, `empty-filtered`, `empty-people`, `empty-train-images`
 */
import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { property, state } from "lit/decorators.js";
import { Api, errorText, fire, navigate, type HomeAssistant, type Info, type Route } from "./api";
import "./detectors-view";
import "./faces-view";
import "./people-view";
import { icon, mdi, shared } from "./styles";
import { define } from "./ui";

type Tab = "faces" | "people" | "detectors";
const TABS: [Tab, string][] = [
  ["faces", "Faces"],
  ["people", "People"],
  ["detectors", "Detectors"],
];

export class DoubleTakePanel extends LitElement {
  @property({ attribute: false }) hass?: HomeAssistant;
  @property({ type: Boolean, reflect: true }) narrow = false;
  @property({ attribute: false }) route?: Route;
  @property({ attribute: false }) panel?: unknown;

  @state() private tab: Tab = "faces";
  @state() private info: Info | null = null;
  @state() private api: Api | null = null;
  @state() private error = "";
  private entryId?: string;
  private loadingInfo = false;

  protected willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("route") && this.route) {
      const segment = this.route.path.split("/")[1] as Tab | undefined;
      this.tab = TABS.some(([tab]) => tab === segment) ? (segment as Tab) : "faces";
    }
    if (changed.has("hass") && this.hass && !this.info && !this.loadingInfo && !this.error) {
      this.loadInfo();
    }
  }

  private async loadInfo(): Promise<void> {
    if (!this.hass) return;
    this.loadingInfo = true;
    try {
      const info = await new Api(this.hass, this.entryId).info();
      if (!this.api || this.api.entryId !== info.config_entry_id) {
        this.api = new Api(this.hass, info.config_entry_id);
      }
      this.entryId = info.config_entry_id;
      this.info = info;
      this.error = "";
    } catch (err) {
      this.error = errorText(err);
    } finally {
      this.loadingInfo = false;
    }
  }

  private select(tab: Tab): void {
    this.tab = tab;
    if (this.route) navigate(`${this.route.prefix}/${tab}`, true);
    if (tab === "detectors") this.loadInfo();
  }

  private chooseEntry(entryId: string): void {
    this.entryId = entryId;
    this.loadInfo();
  }

  protected render(): TemplateResult {
    const info = this.info;
    return html`
      <div class="header">
        <div class="bar">
          ${this.narrow
            ? html`<button
                class="icon-btn"
                title="Menu"
                data-testid="menu-button"
                @click=${() => fire(this, "hass-toggle-menu")}
              >
                ${icon(mdi.menu)}
              </button>`
            : nothing}
          <div class="title">Double Take</div>
          ${info && info.entries.length > 1
            ? html`<select
                data-testid="entry-select"
                aria-label="Double Take entry"
                @change=${(e: Event) => this.chooseEntry((e.target as HTMLSelectElement).value)}
              >
                ${info.entries.map(
                  (entry) =>
                    html`<option value=${entry.config_entry_id} ?selected=${entry.config_entry_id === info.config_entry_id}>
                      ${entry.title}
                    </option>`,
                )}
              </select>`
            : nothing}
        </div>
        <div class="tabs" role="tablist">
          ${TABS.map(
            ([tab, label]) => html`<button
              role="tab"
              class="tab ${this.tab === tab ? "active" : ""}"
              aria-selected=${this.tab === tab ? "true" : "false"}
              data-testid="tab-${tab}"
              @click=${() => this.select(tab)}
            >
              ${label}
            </button>`,
          )}
        </div>
      </div>
      <div class="content" @dt-changed=${() => this.loadInfo()}>${this.renderContent()}</div>
    `;
  }

  private renderContent(): TemplateResult {
    if (this.error && !this.info) {
      return html`<div class="empty" data-testid="panel-error">
        <h2>Double Take is not available</h2>
        <p class="error">${this.error}</p>
        <p>
          <button class="btn" data-testid="panel-retry" @click=${() => { this.error = ""; this.loadInfo(); }}>
            Try again
          </button>
        </p>
      </div>`;
    }
    if (!this.info || !this.api) return html`<p class="secondary loading">Loading…</p>`;
    switch (this.tab) {
      case "people":
        return html`<dt-people .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-people>`;
      case "detectors":
        return html`<dt-detectors .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-detectors>`;
      default:
        return html`<dt-faces .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-faces>`;
    }
  }

  static styles = [
    shared,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
        min-height: 100vh;
        background: var(--primary-background-color, #fafafa);
        -webkit-tap-highlight-color: transparent;
      }
      .header {
        position: sticky;
        top: 0;
        z-index: 4;
        background: var(--app-header-background-color, var(--dt-card));
        color: var(--app-header-text-color, var(--primary-text-color, #212121));
        border-bottom: 1px solid var(--app-header-border-bottom, var(--dt-divider));
        padding-top: env(safe-area-inset-top, 0);
      }
      .bar {
        display: flex;
        align-items: center;
        gap: 8px;
        height: var(--header-height, 56px);
        padding: 0 12px 0 16px;
      }
      :host([narrow]) .bar {
        padding-left: 4px;
      }
      .title {
        flex: 1;
        font-size: 20px;
        font-weight: 400;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .bar select {
        max-width: 45%;
      }
      .tabs {
        display: flex;
        padding: 0 8px;
        overflow-x: auto;
      }
      .tab {
        flex: 0 0 auto;
        border: none;
        background: none;
        padding: 12px 16px;
        min-height: 48px;
        color: inherit;
        opacity: 0.75;
        font-weight: 500;
        text-transform: uppercase;
        letter-spacing: 0.05em;
        font-size: 0.9em;
        border-bottom: 2px solid transparent;
      }
      .tab.active {
        opacity: 1;
        color: var(--dt-primary);
        border-bottom-color: var(--dt-primary);
      }
      :host([narrow]) .tabs {
        padding: 0;
      }
      :host([narrow]) .tab {
        flex: 1;
        padding: 12px 4px;
      }
      .content {
        flex: 1;
        padding: 16px;
        padding-bottom: calc(16px + env(safe-area-inset-bottom, 0));
        max-width: 1600px;
        width: 100%;
        margin: 0 auto;
      }
      :host([narrow]) .content {
        padding: 8px;
      }
      .loading {
        text-align: center;
        padding: 24px;
      }
    `,
  ];
}

define("double-take-panel", DoubleTakePanel);
