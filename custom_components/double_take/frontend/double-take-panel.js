var Be=Object.defineProperty;var qe=Object.getOwnPropertyDescriptor;var l=(a,i,e,t)=>{for(var s=t>1?void 0:t?qe(i,e):i,r=a.length-1,n;r>=0;r--)(n=a[r])&&(s=(t?n(i,e,s):n(s))||s);return t&&s&&Be(i,e,s),s};var ie=globalThis,se=ie.ShadowRoot&&(ie.ShadyCSS===void 0||ie.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,ce=Symbol(),_e=new WeakMap,W=class{constructor(i,e,t){if(this._$cssResult$=!0,t!==ce)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=i,this.t=e}get styleSheet(){let i=this.o,e=this.t;if(se&&i===void 0){let t=e!==void 0&&e.length===1;t&&(i=_e.get(e)),i===void 0&&((this.o=i=new CSSStyleSheet).replaceSync(this.cssText),t&&_e.set(e,i))}return i}toString(){return this.cssText}},ke=a=>new W(typeof a=="string"?a:a+"",void 0,ce),k=(a,...i)=>{let e=a.length===1?a[0]:i.reduce((t,s,r)=>t+(n=>{if(n._$cssResult$===!0)return n.cssText;if(typeof n=="number")return n;throw Error("Value passed to 'css' function must be a 'css' function result: "+n+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(s)+a[r+1],a[0]);return new W(e,a,ce)},Ae=(a,i)=>{if(se)a.adoptedStyleSheets=i.map(e=>e instanceof CSSStyleSheet?e:e.styleSheet);else for(let e of i){let t=document.createElement("style"),s=ie.litNonce;s!==void 0&&t.setAttribute("nonce",s),t.textContent=e.cssText,a.appendChild(t)}},he=se?a=>a:a=>a instanceof CSSStyleSheet?(i=>{let e="";for(let t of i.cssRules)e+=t.cssText;return ke(e)})(a):a;var{is:We,defineProperty:Ke,getOwnPropertyDescriptor:Ze,getOwnPropertyNames:Ge,getOwnPropertySymbols:Xe,getPrototypeOf:De}=Object,re=globalThis,Ee=re.trustedTypes,Je=Ee?Ee.emptyScript:"",Qe=re.reactiveElementPolyfillSupport,K=(a,i)=>a,Z={toAttribute(a,i){switch(i){case Boolean:a=a?Je:null;break;case Object:case Array:a=a==null?a:JSON.stringify(a)}return a},fromAttribute(a,i){let e=a;switch(i){case Boolean:e=a!==null;break;case Number:e=a===null?null:Number(a);break;case Object:case Array:try{e=JSON.parse(a)}catch{e=null}}return e}},ae=(a,i)=>!We(a,i),Se={attribute:!0,type:String,converter:Z,reflect:!1,useDefault:!1,hasChanged:ae};Symbol.metadata??=Symbol("metadata"),re.litPropertyMetadata??=new WeakMap;var T=class extends HTMLElement{static addInitializer(i){this._$Ei(),(this.l??=[]).push(i)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(i,e=Se){if(e.state&&(e.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(i)&&((e=Object.create(e)).wrapped=!0),this.elementProperties.set(i,e),!e.noAccessor){let t=Symbol(),s=this.getPropertyDescriptor(i,t,e);s!==void 0&&Ke(this.prototype,i,s)}}static getPropertyDescriptor(i,e,t){let{get:s,set:r}=Ze(this.prototype,i)??{get(){return this[e]},set(n){this[e]=n}};return{get:s,set(n){let h=s?.call(this);r?.call(this,n),this.requestUpdate(i,h,t)},configurable:!0,enumerable:!0}}static getPropertyOptions(i){return this.elementProperties.get(i)??Se}static _$Ei(){if(this.hasOwnProperty(K("elementProperties")))return;let i=De(this);i.finalize(),i.l!==void 0&&(this.l=[...i.l]),this.elementProperties=new Map(i.elementProperties)}static finalize(){if(this.hasOwnProperty(K("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(K("properties"))){let e=this.properties,t=[...Ge(e),...Xe(e)];for(let s of t)this.createProperty(s,e[s])}let i=this[Symbol.metadata];if(i!==null){let e=litPropertyMetadata.get(i);if(e!==void 0)for(let[t,s]of e)this.elementProperties.set(t,s)}this._$Eh=new Map;for(let[e,t]of this.elementProperties){let s=this._$Eu(e,t);s!==void 0&&this._$Eh.set(s,e)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(i){let e=[];if(Array.isArray(i)){let t=new Set(i.flat(1/0).reverse());for(let s of t)e.unshift(he(s))}else i!==void 0&&e.push(he(i));return e}static _$Eu(i,e){let t=e.attribute;return t===!1?void 0:typeof t=="string"?t:typeof i=="string"?i.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(i=>this.enableUpdating=i),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(i=>i(this))}addController(i){(this._$EO??=new Set).add(i),this.renderRoot!==void 0&&this.isConnected&&i.hostConnected?.()}removeController(i){this._$EO?.delete(i)}_$E_(){let i=new Map,e=this.constructor.elementProperties;for(let t of e.keys())this.hasOwnProperty(t)&&(i.set(t,this[t]),delete this[t]);i.size>0&&(this._$Ep=i)}createRenderRoot(){let i=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return Ae(i,this.constructor.elementStyles),i}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(i=>i.hostConnected?.())}enableUpdating(i){}disconnectedCallback(){this._$EO?.forEach(i=>i.hostDisconnected?.())}attributeChangedCallback(i,e,t){this._$AK(i,t)}_$ET(i,e){let t=this.constructor.elementProperties.get(i),s=this.constructor._$Eu(i,t);if(s!==void 0&&t.reflect===!0){let r=(t.converter?.toAttribute!==void 0?t.converter:Z).toAttribute(e,t.type);this._$Em=i,r==null?this.removeAttribute(s):this.setAttribute(s,r),this._$Em=null}}_$AK(i,e){let t=this.constructor,s=t._$Eh.get(i);if(s!==void 0&&this._$Em!==s){let r=t.getPropertyOptions(s),n=typeof r.converter=="function"?{fromAttribute:r.converter}:r.converter?.fromAttribute!==void 0?r.converter:Z;this._$Em=s;let h=n.fromAttribute(e,r.type);this[s]=h??this._$Ej?.get(s)??h,this._$Em=null}}requestUpdate(i,e,t,s=!1,r){if(i!==void 0){let n=this.constructor;if(s===!1&&(r=this[i]),t??=n.getPropertyOptions(i),!((t.hasChanged??ae)(r,e)||t.useDefault&&t.reflect&&r===this._$Ej?.get(i)&&!this.hasAttribute(n._$Eu(i,t))))return;this.C(i,e,t)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(i,e,{useDefault:t,reflect:s,wrapped:r},n){t&&!(this._$Ej??=new Map).has(i)&&(this._$Ej.set(i,n??e??this[i]),r!==!0||n!==void 0)||(this._$AL.has(i)||(this.hasUpdated||t||(e=void 0),this._$AL.set(i,e)),s===!0&&this._$Em!==i&&(this._$Eq??=new Set).add(i))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(e){Promise.reject(e)}let i=this.scheduleUpdate();return i!=null&&await i,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[s,r]of this._$Ep)this[s]=r;this._$Ep=void 0}let t=this.constructor.elementProperties;if(t.size>0)for(let[s,r]of t){let{wrapped:n}=r,h=this[s];n!==!0||this._$AL.has(s)||h===void 0||this.C(s,void 0,r,h)}}let i=!1,e=this._$AL;try{i=this.shouldUpdate(e),i?(this.willUpdate(e),this._$EO?.forEach(t=>t.hostUpdate?.()),this.update(e)):this._$EM()}catch(t){throw i=!1,this._$EM(),t}i&&this._$AE(e)}willUpdate(i){}_$AE(i){this._$EO?.forEach(e=>e.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(i)),this.updated(i)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(i){return!0}update(i){this._$Eq&&=this._$Eq.forEach(e=>this._$ET(e,this[e])),this._$EM()}updated(i){}firstUpdated(i){}};T.elementStyles=[],T.shadowRootOptions={mode:"open"},T[K("elementProperties")]=new Map,T[K("finalized")]=new Map,Qe?.({ReactiveElement:T}),(re.reactiveElementVersions??=[]).push("2.1.2");var be=globalThis,Te=a=>a,ne=be.trustedTypes,Re=ne?ne.createPolicy("lit-html",{createHTML:a=>a}):void 0,Me="$lit$",C=`lit$${Math.random().toFixed(9).slice(2)}$`,Ne="?"+C,Ye=`<${Ne}>`,U=document,X=()=>U.createComment(""),D=a=>a===null||typeof a!="object"&&typeof a!="function",ye=Array.isArray,et=a=>ye(a)||typeof a?.[Symbol.iterator]=="function",pe=`[ 	
\f\r]`,G=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,Ce=/-->/g,Pe=/>/g,M=RegExp(`>|${pe}(?:([^\\s"'>=/]+)(${pe}*=${pe}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),Ie=/'/g,Le=/"/g,Ue=/^(?:script|style|textarea|title)$/i,$e=a=>(i,...e)=>({_$litType$:a,strings:i,values:e}),o=$e(1),pt=$e(2),ut=$e(3),O=Symbol.for("lit-noChange"),d=Symbol.for("lit-nothing"),He=new WeakMap,N=U.createTreeWalker(U,129);function Oe(a,i){if(!ye(a)||!a.hasOwnProperty("raw"))throw Error("invalid template strings array");return Re!==void 0?Re.createHTML(i):i}var tt=(a,i)=>{let e=a.length-1,t=[],s,r=i===2?"<svg>":i===3?"<math>":"",n=G;for(let h=0;h<e;h++){let c=a[h],u,m,g=-1,S=0;for(;S<c.length&&(n.lastIndex=S,m=n.exec(c),m!==null);)S=n.lastIndex,n===G?m[1]==="!--"?n=Ce:m[1]!==void 0?n=Pe:m[2]!==void 0?(Ue.test(m[2])&&(s=RegExp("</"+m[2],"g")),n=M):m[3]!==void 0&&(n=M):n===M?m[0]===">"?(n=s??G,g=-1):m[1]===void 0?g=-2:(g=n.lastIndex-m[2].length,u=m[1],n=m[3]===void 0?M:m[3]==='"'?Le:Ie):n===Le||n===Ie?n=M:n===Ce||n===Pe?n=G:(n=M,s=void 0);let R=n===M&&a[h+1].startsWith("/>")?" ":"";r+=n===G?c+Ye:g>=0?(t.push(u),c.slice(0,g)+Me+c.slice(g)+C+R):c+C+(g===-2?h:R)}return[Oe(a,r+(a[e]||"<?>")+(i===2?"</svg>":i===3?"</math>":"")),t]},J=class a{constructor({strings:i,_$litType$:e},t){let s;this.parts=[];let r=0,n=0,h=i.length-1,c=this.parts,[u,m]=tt(i,e);if(this.el=a.createElement(u,t),N.currentNode=this.el.content,e===2||e===3){let g=this.el.content.firstChild;g.replaceWith(...g.childNodes)}for(;(s=N.nextNode())!==null&&c.length<h;){if(s.nodeType===1){if(s.hasAttributes())for(let g of s.getAttributeNames())if(g.endsWith(Me)){let S=m[n++],R=s.getAttribute(g).split(C),te=/([.?@])?(.*)/.exec(S);c.push({type:1,index:r,name:te[2],strings:R,ctor:te[1]==="."?me:te[1]==="?"?ge:te[1]==="@"?fe:B}),s.removeAttribute(g)}else g.startsWith(C)&&(c.push({type:6,index:r}),s.removeAttribute(g));if(Ue.test(s.tagName)){let g=s.textContent.split(C),S=g.length-1;if(S>0){s.textContent=ne?ne.emptyScript:"";for(let R=0;R<S;R++)s.append(g[R],X()),N.nextNode(),c.push({type:2,index:++r});s.append(g[S],X())}}}else if(s.nodeType===8)if(s.data===Ne)c.push({type:2,index:r});else{let g=-1;for(;(g=s.data.indexOf(C,g+1))!==-1;)c.push({type:7,index:r}),g+=C.length-1}r++}}static createElement(i,e){let t=U.createElement("template");return t.innerHTML=i,t}};function V(a,i,e=a,t){if(i===O)return i;let s=t!==void 0?e._$Co?.[t]:e._$Cl,r=D(i)?void 0:i._$litDirective$;return s?.constructor!==r&&(s?._$AO?.(!1),r===void 0?s=void 0:(s=new r(a),s._$AT(a,e,t)),t!==void 0?(e._$Co??=[])[t]=s:e._$Cl=s),s!==void 0&&(i=V(a,s._$AS(a,i.values),s,t)),i}var ue=class{constructor(i,e){this._$AV=[],this._$AN=void 0,this._$AD=i,this._$AM=e}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(i){let{el:{content:e},parts:t}=this._$AD,s=(i?.creationScope??U).importNode(e,!0);N.currentNode=s;let r=N.nextNode(),n=0,h=0,c=t[0];for(;c!==void 0;){if(n===c.index){let u;c.type===2?u=new Q(r,r.nextSibling,this,i):c.type===1?u=new c.ctor(r,c.name,c.strings,this,i):c.type===6&&(u=new ve(r,this,i)),this._$AV.push(u),c=t[++h]}n!==c?.index&&(r=N.nextNode(),n++)}return N.currentNode=U,s}p(i){let e=0;for(let t of this._$AV)t!==void 0&&(t.strings!==void 0?(t._$AI(i,t,e),e+=t.strings.length-2):t._$AI(i[e])),e++}},Q=class a{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(i,e,t,s){this.type=2,this._$AH=d,this._$AN=void 0,this._$AA=i,this._$AB=e,this._$AM=t,this.options=s,this._$Cv=s?.isConnected??!0}get parentNode(){let i=this._$AA.parentNode,e=this._$AM;return e!==void 0&&i?.nodeType===11&&(i=e.parentNode),i}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(i,e=this){i=V(this,i,e),D(i)?i===d||i==null||i===""?(this._$AH!==d&&this._$AR(),this._$AH=d):i!==this._$AH&&i!==O&&this._(i):i._$litType$!==void 0?this.$(i):i.nodeType!==void 0?this.T(i):et(i)?this.k(i):this._(i)}O(i){return this._$AA.parentNode.insertBefore(i,this._$AB)}T(i){this._$AH!==i&&(this._$AR(),this._$AH=this.O(i))}_(i){this._$AH!==d&&D(this._$AH)?this._$AA.nextSibling.data=i:this.T(U.createTextNode(i)),this._$AH=i}$(i){let{values:e,_$litType$:t}=i,s=typeof t=="number"?this._$AC(i):(t.el===void 0&&(t.el=J.createElement(Oe(t.h,t.h[0]),this.options)),t);if(this._$AH?._$AD===s)this._$AH.p(e);else{let r=new ue(s,this),n=r.u(this.options);r.p(e),this.T(n),this._$AH=r}}_$AC(i){let e=He.get(i.strings);return e===void 0&&He.set(i.strings,e=new J(i)),e}k(i){ye(this._$AH)||(this._$AH=[],this._$AR());let e=this._$AH,t,s=0;for(let r of i)s===e.length?e.push(t=new a(this.O(X()),this.O(X()),this,this.options)):t=e[s],t._$AI(r),s++;s<e.length&&(this._$AR(t&&t._$AB.nextSibling,s),e.length=s)}_$AR(i=this._$AA.nextSibling,e){for(this._$AP?.(!1,!0,e);i!==this._$AB;){let t=Te(i).nextSibling;Te(i).remove(),i=t}}setConnected(i){this._$AM===void 0&&(this._$Cv=i,this._$AP?.(i))}},B=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(i,e,t,s,r){this.type=1,this._$AH=d,this._$AN=void 0,this.element=i,this.name=e,this._$AM=s,this.options=r,t.length>2||t[0]!==""||t[1]!==""?(this._$AH=Array(t.length-1).fill(new String),this.strings=t):this._$AH=d}_$AI(i,e=this,t,s){let r=this.strings,n=!1;if(r===void 0)i=V(this,i,e,0),n=!D(i)||i!==this._$AH&&i!==O,n&&(this._$AH=i);else{let h=i,c,u;for(i=r[0],c=0;c<r.length-1;c++)u=V(this,h[t+c],e,c),u===O&&(u=this._$AH[c]),n||=!D(u)||u!==this._$AH[c],u===d?i=d:i!==d&&(i+=(u??"")+r[c+1]),this._$AH[c]=u}n&&!s&&this.j(i)}j(i){i===d?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,i??"")}},me=class extends B{constructor(){super(...arguments),this.type=3}j(i){this.element[this.name]=i===d?void 0:i}},ge=class extends B{constructor(){super(...arguments),this.type=4}j(i){this.element.toggleAttribute(this.name,!!i&&i!==d)}},fe=class extends B{constructor(i,e,t,s,r){super(i,e,t,s,r),this.type=5}_$AI(i,e=this){if((i=V(this,i,e,0)??d)===O)return;let t=this._$AH,s=i===d&&t!==d||i.capture!==t.capture||i.once!==t.once||i.passive!==t.passive,r=i!==d&&(t===d||s);s&&this.element.removeEventListener(this.name,this,t),r&&this.element.addEventListener(this.name,this,i),this._$AH=i}handleEvent(i){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,i):this._$AH.handleEvent(i)}},ve=class{constructor(i,e,t){this.element=i,this.type=6,this._$AN=void 0,this._$AM=e,this.options=t}get _$AU(){return this._$AM._$AU}_$AI(i){V(this,i)}};var it=be.litHtmlPolyfillSupport;it?.(J,Q),(be.litHtmlVersions??=[]).push("3.3.3");var ze=(a,i,e)=>{let t=e?.renderBefore??i,s=t._$litPart$;if(s===void 0){let r=e?.renderBefore??null;t._$litPart$=s=new Q(i.insertBefore(X(),r),r,void 0,e??{})}return s._$AI(a),s};var xe=globalThis,w=class extends T{constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let i=super.createRenderRoot();return this.renderOptions.renderBefore??=i.firstChild,i}update(i){let e=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(i),this._$Do=ze(e,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return O}};w._$litElement$=!0,w.finalized=!0,xe.litElementHydrateSupport?.({LitElement:w});var st=xe.litElementPolyfillSupport;st?.({LitElement:w});(xe.litElementVersions??=[]).push("4.2.2");var rt={attribute:!0,type:String,converter:Z,reflect:!1,hasChanged:ae},at=(a=rt,i,e)=>{let{kind:t,metadata:s}=e,r=globalThis.litPropertyMetadata.get(s);if(r===void 0&&globalThis.litPropertyMetadata.set(s,r=new Map),t==="setter"&&((a=Object.create(a)).wrapped=!0),r.set(e.name,a),t==="accessor"){let{name:n}=e;return{set(h){let c=i.get.call(this);i.set.call(this,h),this.requestUpdate(n,c,a,!0,h)},init(h){return h!==void 0&&this.C(n,void 0,a,h),h}}}if(t==="setter"){let{name:n}=e;return function(h){let c=this[n];i.call(this,h),this.requestUpdate(n,c,a,!0,h)}}throw Error("Unsupported decorator location: "+t)};function v(a){return(i,e)=>typeof e=="object"?at(a,i,e):((t,s,r)=>{let n=s.hasOwnProperty(r);return s.constructor.createProperty(r,t),n?Object.getOwnPropertyDescriptor(s,r):void 0})(a,i,e)}function p(a){return v({...a,state:!0,attribute:!1})}var z="/config/integrations/integration/double_take",Y=class{constructor(i,e){this.hass=i;this.entryId=e}call(i,e={}){let t={type:i,...e};return this.entryId&&(t.config_entry_id=this.entryId),this.hass.callWS(t)}info(){return this.call("double_take/info")}results(i,e,t=50){let s={limit:t};return i.kind&&(s.kind=i.kind),i.name&&(s.name=i.name),i.camera&&(s.camera=i.camera),e!=null&&(s.before=e),this.call("double_take/results",s)}subscribeResults(i){let e={type:"double_take/subscribe_results"};return this.entryId&&(e.config_entry_id=this.entryId),this.hass.connection.subscribeMessage(t=>i(t.results),e)}persons(){return this.call("double_take/persons")}assign(i,e){return this.call("double_take/assign",{result_id:i,name:e})}deleteResults(i){return this.call("double_take/delete_results",{result_ids:i})}trainImages(i){return this.call("double_take/train_images",{name:i})}deleteTrainImage(i,e){return this.call("double_take/delete_train_image",{name:i,file:e})}trainAll(){return this.call("double_take/train_all")}removePerson(i){return this.call("double_take/remove_person",{name:i,delete_images:!0})}async upload(i,e){let t=[];for(let s=0;s<e.length;s+=20){let r=new FormData;for(let u of e.slice(s,s+20))r.append("file",u,u.name);let n=`/api/double_take/train/${encodeURIComponent(i)}`;this.entryId&&(n+=`?config_entry_id=${encodeURIComponent(this.entryId)}`);let h=await this.hass.fetchWithAuth(n,{method:"POST",body:r}),c=await h.json().catch(()=>({}));if(!h.ok)throw new Error(c.message||`Upload failed (${h.status})`);t.push(c)}return t}};function y(a){return a&&typeof a=="object"&&"message"in a?String(a.message):String(a)}function de(a,i=!1){i?history.replaceState(null,"",a):history.pushState(null,"",a),window.dispatchEvent(new CustomEvent("location-changed",{detail:{replace:i}}))}function A(a,i,e={}){a.dispatchEvent(new CustomEvent(i,{detail:e,bubbles:!0,composed:!0}))}function P(a,i){if(!a)return"";let e=(new Date(a).getTime()-Date.now())/1e3,t=new Intl.RelativeTimeFormat(i||void 0,{numeric:"auto"}),s=[[60,"second"],[60,"minute"],[24,"hour"],[7,"day"],[4.35,"week"],[12,"month"],[1/0,"year"]],r=e;for(let[n,h]of s){if(Math.abs(r)<n)return t.format(Math.round(r),h);r/=n}return""}function I(a,i){return a?new Date(a).toLocaleString(i||void 0):""}function ee(a){return a.type.startsWith("image/")||/\.(jpe?g|png|gif|webp|bmp)$/i.test(a.name)}var L=k`
  :host {
    color: var(--primary-text-color, #212121);
    font-family: var(--ha-font-family-body, var(--paper-font-body1_-_font-family, Roboto, sans-serif));
    --dt-radius: var(--ha-card-border-radius, 12px);
    --dt-card: var(--card-background-color, var(--ha-card-background, #fff));
    --dt-divider: var(--divider-color, rgba(0, 0, 0, 0.12));
    --dt-secondary: var(--secondary-text-color, #727272);
    --dt-primary: var(--primary-color, #03a9f4);
    --dt-on-primary: var(--text-primary-color, #fff);
    --dt-error: var(--error-color, #db4437);
    --dt-success: var(--success-color, #43a047);
    --dt-warning: var(--warning-color, #ffa600);
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  button {
    font: inherit;
    color: inherit;
    cursor: pointer;
  }
  button:disabled {
    cursor: default;
    opacity: 0.5;
  }
  .btn {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 6px;
    min-height: 36px;
    padding: 0 14px;
    border-radius: 18px;
    border: 1px solid var(--dt-divider);
    background: transparent;
    color: var(--dt-primary);
    font-weight: 500;
    white-space: nowrap;
  }
  .btn.primary {
    background: var(--dt-primary);
    border-color: var(--dt-primary);
    color: var(--dt-on-primary);
  }
  .btn.danger {
    color: var(--dt-error);
  }
  .btn.primary.danger {
    background: var(--dt-error);
    border-color: var(--dt-error);
    color: #fff;
  }
  .icon-btn {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    width: 40px;
    height: 40px;
    border: none;
    border-radius: 50%;
    background: transparent;
    color: inherit;
    padding: 0;
  }
  .icon-btn:hover,
  .btn:hover {
    background-color: rgba(127, 127, 127, 0.12);
  }
  .btn.primary:hover {
    filter: brightness(1.08);
    background: var(--dt-primary);
  }
  svg.icon {
    width: 24px;
    height: 24px;
    fill: currentColor;
    flex: none;
  }
  .card {
    background: var(--dt-card);
    border-radius: var(--dt-radius);
    border: 1px solid var(--ha-card-border-color, var(--dt-divider));
    box-shadow: var(--ha-card-box-shadow, none);
  }
  input,
  select {
    font: inherit;
    color: var(--primary-text-color, #212121);
    background: var(--input-fill-color, var(--secondary-background-color, rgba(127, 127, 127, 0.08)));
    border: 1px solid var(--dt-divider);
    border-radius: 8px;
    min-height: 36px;
    padding: 4px 10px;
    max-width: 100%;
  }
  select option {
    background: var(--dt-card);
    color: var(--primary-text-color, #212121);
  }
  input:focus,
  select:focus {
    outline: 2px solid var(--dt-primary);
    outline-offset: -1px;
  }
  a {
    color: var(--dt-primary);
  }
  .secondary {
    color: var(--dt-secondary);
  }
  .error {
    color: var(--dt-error);
  }
  .empty {
    margin: 24px auto;
    max-width: 560px;
    padding: 24px;
    text-align: center;
    line-height: 1.5;
  }
  .empty h2 {
    margin: 0 0 8px;
    font-size: 1.2em;
    font-weight: 500;
  }
  .empty p {
    margin: 8px 0;
    color: var(--dt-secondary);
  }
  .banner {
    display: flex;
    align-items: center;
    gap: 12px;
    padding: 10px 14px;
    margin: 0 0 12px;
    border-radius: var(--dt-radius);
    border: 1px solid var(--dt-divider);
    background: var(--dt-card);
    line-height: 1.4;
  }
  .banner.warning {
    border-left: 4px solid var(--dt-warning);
  }
  .banner.info {
    border-left: 4px solid var(--dt-primary);
  }
  .badge {
    display: inline-block;
    padding: 1px 8px;
    border-radius: 10px;
    font-size: 0.8em;
    font-weight: 500;
    background: rgba(127, 127, 127, 0.16);
  }
  .badge.match,
  .badge.ok {
    background: var(--dt-success);
    color: #fff;
  }
  .badge.miss {
    background: var(--dt-warning);
    color: #000;
  }
  .badge.unknown {
    background: rgba(127, 127, 127, 0.35);
  }
  .badge.failing {
    background: var(--dt-error);
    color: #fff;
  }
  .scrim {
    position: fixed;
    inset: 0;
    z-index: 10;
    display: flex;
    align-items: center;
    justify-content: center;
    background: rgba(0, 0, 0, 0.5);
    padding: 16px;
  }
  .dialog {
    background: var(--dt-card);
    color: var(--primary-text-color, #212121);
    border-radius: var(--dt-radius);
    width: min(560px, 100%);
    max-height: calc(100% - 16px);
    overflow: auto;
    padding: 20px;
    box-shadow: 0 8px 32px rgba(0, 0, 0, 0.4);
  }
  .dialog.wide {
    width: min(960px, 100%);
  }
  .dialog h2 {
    margin: 0 0 12px;
    font-size: 1.25em;
    font-weight: 500;
  }
  .dialog .actions {
    display: flex;
    flex-wrap: wrap;
    justify-content: flex-end;
    gap: 8px;
    margin-top: 16px;
  }
  .grid {
    display: grid;
    gap: 8px;
    grid-template-columns: repeat(auto-fill, minmax(150px, 1fr));
  }
  @media (max-width: 600px) {
    .grid {
      grid-template-columns: repeat(auto-fill, minmax(110px, 1fr));
    }
    .dialog {
      padding: 14px;
    }
    .scrim {
      padding: 0;
    }
    /* A question ("This is…", a confirmation) stays a card in the middle; a face's
       detail takes the whole screen. */
    .dialog {
      width: calc(100% - 24px);
      max-height: calc(100% - 24px);
    }
    .dialog.wide {
      align-self: stretch;
      max-height: 100%;
      border-radius: 0;
      width: 100%;
    }
  }
  /* A row of controls above a view's content. */
  .toolbar {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 8px;
    margin-bottom: 12px;
    min-height: 40px;
  }
  .spacer {
    flex: 1;
  }
`,$={menu:"M3,6H21V8H3V6M3,11H21V13H3V11M3,16H21V18H3V16Z",close:"M19,6.41L17.59,5L12,10.59L6.41,5L5,6.41L10.59,12L5,17.59L6.41,19L12,13.41L17.59,19L19,17.59L13.41,12L19,6.41Z",back:"M20,11V13H8L13.5,18.5L12.08,19.92L4.16,12L12.08,4.08L13.5,5.5L8,11H20Z",delete:"M19,4H15.5L14.5,3H9.5L8.5,4H5V6H19M6,19A2,2 0 0,0 8,21H16A2,2 0 0,0 18,19V7H6V19Z",account:"M12,4A4,4 0 0,1 16,8A4,4 0 0,1 12,12A4,4 0 0,1 8,8A4,4 0 0,1 12,4M12,14C16.42,14 20,15.79 20,18V20H4V18C4,15.79 7.58,14 12,14Z",upload:"M9,16V10H5L12,3L19,10H15V16H9M5,20V18H19V20H5Z",plus:"M19,13H13V19H11V13H5V11H11V5H13V11H19V13Z",check:"M21,7L9,19L3.5,13.5L4.91,12.09L9,16.17L19.59,5.59L21,7Z",refresh:"M17.65,6.35C16.2,4.9 14.21,4 12,4A8,8 0 0,0 4,12A8,8 0 0,0 12,20C15.73,20 18.84,17.45 19.73,14H17.65C16.83,16.33 14.61,18 12,18A6,6 0 0,1 6,12A6,6 0 0,1 12,6C13.66,6 15.14,6.69 16.22,7.78L13,11H20V4L17.65,6.35Z"};function x(a){return o`<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d=${a}></path></svg>`}function H(a,i){customElements.get(a)||customElements.define(a,i)}var j=a=>a.stopPropagation();function le(a){return o`
    <div class="scrim" @click=${()=>!a.busy&&a.onCancel()}>
      <div
        class="dialog"
        role="alertdialog"
        aria-modal="true"
        aria-label=${a.title}
        data-testid="confirm-dialog"
        @click=${j}
      >
        <h2>${a.title}</h2>
        <div>${a.text}</div>
        ${a.error?o`<p class="error" data-testid="confirm-error">${a.error}</p>`:d}
        <div class="actions">
          <button class="btn" data-testid="confirm-cancel" ?disabled=${a.busy} @click=${a.onCancel}>
            Cancel
          </button>
          <button
            class="btn primary danger"
            data-testid="confirm-ok"
            ?disabled=${a.busy}
            @click=${a.onConfirm}
          >
            ${a.confirm}
          </button>
        </div>
      </div>
    </div>
  `}function F(a,i,e){return o`<a
    href=${a}
    data-testid=${e??d}
    @click=${t=>{t.ctrlKey||t.metaKey||t.shiftKey||t.button!==0||(t.preventDefault(),de(a))}}
    >${i}</a
  >`}var E=class extends w{constructor(){super(...arguments);this.narrow=!1;this.busy=!1;this.result=null;this.error=""}async trainAll(){if(!this.busy){this.busy=!0,this.error="",this.result=null;try{this.result=await this.api.trainAll()}catch(e){this.error=y(e)}finally{this.busy=!1,A(this,"dt-changed")}}}render(){let e=this.info;return o`
      <div class="toolbar">
        <span class="secondary">
          Frigate:
          <span data-testid="frigate-status">
            ${e.frigate?e.frigate_available?o`<span class="badge ok">connected</span>`:o`<span class="badge failing">unavailable</span>`:o`<span class="badge">not configured</span>`}
          </span>
        </span>
        <span class="spacer"></span>
        <button
          class="btn primary"
          data-testid="train-all"
          ?disabled=${this.busy||!e.detectors.length}
          title="Send every detector the training images it has not learnt yet"
          @click=${()=>this.trainAll()}
        >
          ${this.busy?"Training…":"Train all"}
        </button>
      </div>
      ${this.renderResult()}
      ${this.error?o`<p class="error" data-testid="train-all-error">${this.error}</p>`:d}
      ${e.detectors.length?o`<div class="detectors">${e.detectors.map(t=>this.renderDetector(t))}</div>`:o`<div class="empty" data-testid="empty-no-detector">
            <h2>No detector yet</h2>
            <p>
              A detector recognizes the faces. Open ${F(z,"Double Take's settings")} and
              choose <i>Add detector</i>: the built-in <i>Local</i> detector needs no server; CompreFace,
              DeepStack, CodeProject.AI and Facebox servers work too.
            </p>
          </div>`}
    `}renderResult(){let e=this.result;if(!e)return d;let t=s=>e.results.reduce((r,n)=>r+n[s].length,0);return o`<div class="message" data-testid="train-all-result">
      ${e.results.length||e.failed.length?o`${e.results.length} ${e.results.length===1?"person":"people"} trained:
            ${t("trained")} new images learnt, ${t("skipped")} already known, ${t("failed")} failed.`:"Nothing to train: no person has training images."}
      ${e.failed.length?o`<ul>
            ${e.failed.map(s=>o`<li class="error">${s.name}: ${s.error}</li>`)}
          </ul>`:d}
    </div>`}renderDetector(e){let t=this.api.hass.locale?.language??this.api.hass.language,s=e.status==="failing"?o`<span class="badge failing">failing</span>
            <span class="secondary small" title=${I(e.failing_since,t)}>
              since ${P(e.failing_since,t)}</span
            >`:e.checked?o`<span class="badge ok">connected</span>`:o`<span class="badge">not checked yet</span>`;return o`<div class="detector card" data-testid="detector-card" data-name=${e.name} data-status=${e.status}>
      <div class="head">
        <div>
          <div class="name">${e.name}</div>
          <div class="secondary small">${e.kind}</div>
        </div>
        <div class="status" data-testid="detector-status">${s}</div>
      </div>
      ${e.last_error?o`<p class="error small" data-testid="detector-error">${e.last_error}</p>`:d}
      <dl>
        <dt>Cameras</dt>
        <dd>${e.cameras.length?e.cameras.join(", "):"all"}</dd>
        <dt>Trained on</dt>
        <dd data-testid="detector-trained">
          ${e.trained.length?o`${e.trained.join(", ")}
                <span class="secondary">(${e.trained_images} image${e.trained_images===1?"":"s"})</span>`:o`<span class="secondary">nobody yet</span>`}
        </dd>
        ${e.last_activity?o`<dt>Last used</dt>
              <dd title=${I(e.last_activity,t)}>
                ${P(e.last_activity,t)}
              </dd>`:d}
      </dl>
    </div>`}};E.styles=[L,k`
      :host {
        display: block;
      }
      .small {
        font-size: 0.85em;
      }
      .detectors {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
      }
      .detector {
        padding: 14px 16px;
        min-width: 0;
      }
      .head {
        display: flex;
        justify-content: space-between;
        align-items: flex-start;
        gap: 8px;
      }
      .name {
        font-weight: 500;
        font-size: 1.1em;
        overflow-wrap: anywhere;
      }
      .status {
        text-align: right;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 4px 12px;
        margin: 12px 0 0;
      }
      dt {
        color: var(--dt-secondary);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
      }
      .message {
        padding: 8px 12px;
        margin-bottom: 12px;
        border-left: 4px solid var(--dt-primary);
        background: var(--dt-card);
        border-radius: 4px;
      }
      .message ul {
        margin: 6px 0 0;
      }
      @media (max-width: 600px) {
        .detectors {
          grid-template-columns: 1fr;
        }
      }
    `],l([v({attribute:!1})],E.prototype,"api",2),l([v({attribute:!1})],E.prototype,"info",2),l([v({type:Boolean})],E.prototype,"narrow",2),l([p()],E.prototype,"busy",2),l([p()],E.prototype,"result",2),l([p()],E.prototype,"error",2);H("dt-detectors",E);var nt=60,je={match:"Match",miss:"Miss",unknown:"Unknown"};function we(a){return a.kind==="unknown"?"Unknown":a.name}function q(a){return a==null?"–":`${Math.round(a*10)/10} %`}var f=class extends w{constructor(){super(...arguments);this.narrow=!1;this.results=[];this.next=null;this.loading=!1;this.loaded=!1;this.error="";this.filters={};this.selected=new Set;this.detail=null;this.frameSize=null;this.assignIds=null;this.assignName="";this.deleteIds=null;this.busy=!1;this.dialogError="";this.persons=[];this.generation=0}connectedCallback(){super.connectedCallback(),this.api&&this.start()}disconnectedCallback(){super.disconnectedCallback(),this.stop()}willUpdate(e){e.has("api")&&e.get("api")!==void 0&&this.isConnected?(this.stop(),this.filters={},this.start()):e.has("api")&&this.isConnected&&!this.unsubscribe&&this.start()}updated(){let e=this.renderRoot.querySelector(".sentinel");e&&(this.observer??=new IntersectionObserver(t=>{t.some(s=>s.isIntersecting)&&this.loadMore()}),this.observer.disconnect(),this.observer.observe(e))}start(){this.reload(),this.loadPersons();let e=this.api;this.unsubscribe=e.subscribeResults(t=>{e===this.api&&this.received(t)}),this.unsubscribe.catch(t=>this.error=y(t))}stop(){this.observer?.disconnect(),this.observer=void 0;let e=this.unsubscribe;this.unsubscribe=void 0,e?.then(t=>t()).catch(()=>{})}async loadPersons(){try{let{persons:e}=await this.api.persons();this.persons=e.map(t=>t.name)}catch(e){this.error=y(e)}}async reload(){this.generation+=1,this.results=[],this.next=null,this.loaded=!1,this.selected=new Set,await this.fetchPage(null)}loadMore(){!this.loading&&this.next!=null&&this.fetchPage(this.next)}async fetchPage(e){let t=this.generation;this.loading=!0,this.error="";try{let s=await this.api.results(this.filters,e,nt);if(t!==this.generation)return;let r=new Set(this.results.map(n=>n.id));this.results=[...this.results,...s.results.filter(n=>!r.has(n.id))],this.next=s.next}catch(s){t===this.generation&&(this.error=y(s))}finally{t===this.generation&&(this.loading=!1,this.loaded=!0)}}passesFilters(e){let{kind:t,name:s,camera:r}=this.filters;return(!t||e.kind===t)&&(!s||e.name.toLowerCase()===s.toLowerCase())&&(!r||e.camera===r)}received(e){let t=new Set(this.results.map(r=>r.id)),s=e.filter(r=>!t.has(r.id)&&this.passesFilters(r)).sort((r,n)=>n.id-r.id);s.length&&(this.results=[...s,...this.results]);for(let r of e)if(r.kind==="match"&&!this.persons.some(n=>n.toLowerCase()===r.name.toLowerCase())){this.loadPersons();break}}setFilter(e,t){this.filters={...this.filters,[e]:t||void 0},this.reload()}toggle(e){let t=new Set(this.selected);t.has(e)?t.delete(e):t.add(e),this.selected=t}openTile(e){if(this.selected.size){this.toggle(e.id);return}this.detail=e,this.frameSize=null}openAssign(e){this.assignIds=e;let t=this.results.find(s=>s.id===e[0]);this.assignName=t&&t.kind!=="unknown"?t.name:"",this.dialogError=""}async assign(){let e=this.assignName.trim(),t=this.assignIds;if(!(!e||!t||this.busy)){this.busy=!0,this.dialogError="";try{for(let s of t){let r=await this.api.assign(s,e);this.replace(s,{kind:"match",name:r.name,corrected:!0})}this.assignIds=null,this.selected=new Set,this.loadPersons(),A(this,"dt-changed")}catch(s){this.dialogError=y(s)}finally{this.busy=!1}}}replace(e,t){this.results=this.results.map(s=>s.id===e?{...s,...t}:s),this.detail?.id===e&&(this.detail={...this.detail,...t})}async delete(){let e=this.deleteIds;if(!(!e||this.busy)){this.busy=!0,this.dialogError="";try{for(let s=0;s<e.length;s+=200)await this.api.deleteResults(e.slice(s,s+200));let t=new Set(e);this.results=this.results.filter(s=>!t.has(s.id)),this.selected=new Set([...this.selected].filter(s=>!t.has(s))),this.detail&&t.has(this.detail.id)&&(this.detail=null),this.deleteIds=null}catch(t){this.dialogError=y(t)}finally{this.busy=!1}}}render(){return o`
      ${this.renderBanners()} ${this.renderToolbar()}
      ${this.error?o`<p class="error" data-testid="faces-error">${this.error}</p>`:d}
      ${this.renderGrid()}
      ${this.detail?this.renderDetail(this.detail):d}
      ${this.assignIds?this.renderAssign(this.assignIds):d}
      ${this.deleteIds?le({title:this.deleteIds.length===1?"Delete this face?":`Delete ${this.deleteIds.length} faces?`,text:"The faces go from the history with their frames and crops. Training images are not touched.",confirm:"Delete",busy:this.busy,error:this.dialogError,onConfirm:()=>this.delete(),onCancel:()=>this.deleteIds=null}):d}
    `}renderBanners(){let e=this.info;return o`
      ${e.detectors.length?d:o`<div class="banner warning" data-testid="empty-no-detector">
            <span
              ><b>No detector yet.</b> Nothing is recognized until you add one: open
              ${F(z,"Double Take's settings")} and choose <i>Add detector</i> (the
              built-in <i>Local</i> detector needs no server).</span
            >
          </div>`}
      ${e.frigate?d:o`<div class="banner info" data-testid="empty-no-frigate">
            <span
              ><b>Not connected to Frigate.</b> Faces come only from the
              <code>double_take.recognize</code> action. To process Frigate's events, reconfigure
              ${F(z,"the integration")} with your Frigate URL.</span
            >
          </div>`}
      ${!e.save_unknown&&this.filters.kind==="unknown"?o`<div class="banner info" data-testid="empty-save-unknown">
            <span
              ><b>Unknown faces are not kept.</b> Turn on <i>save_unknown</i> in
              ${F(z,"the integration's options")} (⋮ → Configure) to review and
              name strangers here.</span
            >
          </div>`:d}
    `}renderToolbar(){let e=this.selected.size;if(e)return o`<div class="toolbar selection" data-testid="selection-bar">
        <button class="icon-btn" title="Clear selection" data-testid="select-clear" @click=${()=>this.selected=new Set}>
          ${x($.close)}
        </button>
        <span class="count" data-testid="selection-count">${e} selected</span>
        <span class="spacer"></span>
        <button class="btn" data-testid="select-all" @click=${()=>this.selected=new Set(this.results.map(n=>n.id))}>
          All
        </button>
        <button class="btn primary" data-testid="assign-selected" @click=${()=>this.openAssign([...this.selected])}>
          This is…
        </button>
        <button class="btn danger" data-testid="delete-selected" @click=${()=>{this.dialogError="",this.deleteIds=[...this.selected]}}>
          Delete
        </button>
      </div>`;let{kind:t,name:s,camera:r}=this.filters;return o`<div class="toolbar">
      <select data-testid="filter-kind" aria-label="Kind" @change=${n=>this.setFilter("kind",n.target.value)}>
        <option value="" ?selected=${!t}>All faces</option>
        <option value="match" ?selected=${t==="match"}>Matches</option>
        <option value="miss" ?selected=${t==="miss"}>Misses</option>
        <option value="unknown" ?selected=${t==="unknown"}>Unknown</option>
      </select>
      <select data-testid="filter-person" aria-label="Person" @change=${n=>this.setFilter("name",n.target.value)}>
        <option value="" ?selected=${!s}>Everyone</option>
        ${this.persons.map(n=>o`<option value=${n} ?selected=${s===n}>${n}</option>`)}
      </select>
      <select data-testid="filter-camera" aria-label="Camera" @change=${n=>this.setFilter("camera",n.target.value)}>
        <option value="" ?selected=${!r}>All cameras</option>
        ${this.info.cameras.map(n=>o`<option value=${n} ?selected=${r===n}>${n}</option>`)}
      </select>
      <button class="icon-btn refresh" title="Refresh" data-testid="faces-refresh" @click=${()=>this.reload()}>
        ${x($.refresh)}
      </button>
    </div>`}renderGrid(){if(!this.loaded&&this.loading)return o`<p class="secondary loading">Loading…</p>`;if(this.loaded&&!this.results.length)return this.filters.kind||this.filters.name||this.filters.camera?o`<div class="empty" data-testid="empty-filtered">
          <h2>No faces match these filters</h2>
          <p><button class="btn" @click=${()=>{this.filters={},this.reload()}}>Show all faces</button></p>
        </div>`:o`<div class="empty" data-testid="empty-faces">
        <h2>No faces seen yet</h2>
        <p>
          Faces appear here, newest first, ${this.info.frigate?"as soon as Frigate reports a person, or":""} when
          you run the <code>double_take.recognize</code> action. Matches and misses are always kept${this.info.save_unknown?", and unknown faces too.":"."}
        </p>
        ${this.info.save_unknown?d:o`<p data-testid="empty-save-unknown">
              Unknown faces are not kept: turn on <i>save_unknown</i> in ${F(z,"the options")} to
              see strangers here and name them.
            </p>`}
      </div>`;let e=this.api.hass.locale?.language??this.api.hass.language;return o`
      <div class="grid" data-testid="face-grid">
        ${this.results.map(t=>{let s=this.selected.has(t.id);return o`<div
            class="tile card ${s?"selected":""}"
            data-testid="face-tile"
            data-id=${t.id}
            data-kind=${t.kind}
            data-name=${t.name}
            role="button"
            tabindex="0"
            @click=${()=>this.openTile(t)}
            @keydown=${r=>r.key==="Enter"&&this.openTile(t)}
          >
            <div class="crop">
              ${t.face_url?o`<img src=${t.face_url} loading="lazy" alt=${we(t)} />`:o`<div class="noimg">${x($.account)}</div>`}
              <label class="check ${s?"on":""}" @click=${j} title="Select">
                <input
                  type="checkbox"
                  data-testid="face-select"
                  .checked=${s}
                  @change=${()=>this.toggle(t.id)}
                />
              </label>
              <span class="badge ${t.kind} kind" title=${t.corrected?"Named by you":d}
                >${t.corrected?"✓ ":""}${je[t.kind]}</span
              >
            </div>
            <div class="meta">
              <div class="name" data-testid="face-name">${we(t)}</div>
              <div class="secondary small">
                ${t.corrected?t.camera:`${q(t.confidence)} · ${t.camera}`}
              </div>
              <div class="secondary small" title=${I(t.time,e)}>
                ${P(t.time,e)}
              </div>
            </div>
          </div>`})}
      </div>
      ${this.next!=null?o`<div class="sentinel"></div>
            <p class="more">
              <button class="btn" data-testid="load-more" ?disabled=${this.loading} @click=${()=>this.loadMore()}>
                ${this.loading?"Loading…":"Load more"}
              </button>
            </p>`:d}
    `}renderDetail(e){let t=this.api.hass.locale?.language??this.api.hass.language,s=this.frameSize,r=e.box,n=s&&s.width&&s.height?`left:${r.left/s.width*100}%;top:${r.top/s.height*100}%;width:${r.width/s.width*100}%;height:${r.height/s.height*100}%`:"display:none";return o`<div class="scrim" @click=${()=>this.detail=null}>
      <div class="dialog wide detail" role="dialog" aria-modal="true" data-testid="face-detail" @click=${j}>
        <div class="detail-head">
          <h2>
            ${we(e)} <span class="badge ${e.kind}">${je[e.kind]}</span>
            ${e.corrected?o`<span class="badge" title="Named by you">corrected</span>`:d}
          </h2>
          <button class="icon-btn" title="Close" data-testid="detail-close" @click=${()=>this.detail=null}>
            ${x($.close)}
          </button>
        </div>
        <div class="detail-body">
          <div class="frame-wrap">
            ${e.image_url?o`<div class="frame">
                  <img
                    src=${e.image_url}
                    alt="Frame"
                    data-testid="detail-frame"
                    @load=${h=>{let c=h.target;this.frameSize={width:c.naturalWidth,height:c.naturalHeight}}}
                  />
                  <div class="box" data-testid="detail-box" style=${n}></div>
                </div>`:o`<p class="secondary">The frame is not kept.</p>`}
          </div>
          <div class="facts">
            <dl>
              <dt>Confidence</dt>
              <dd>
                ${q(e.confidence)} (${e.detector}${e.corrected?", before you named it":""})
              </dd>
              <dt>Camera</dt>
              <dd>${e.camera}</dd>
              <dt>Time</dt>
              <dd title=${P(e.time,t)}>${I(e.time,t)}</dd>
              <dt>Source</dt>
              <dd>${e.source}${e.event_id?o` · <span class="small">${e.event_id}</span>`:d}</dd>
              <dt>Face</dt>
              <dd>${r.width} × ${r.height} px (${r.width*r.height} px²)</dd>
            </dl>
            ${this.renderWhy(e)}
          </div>
        </div>
        ${this.renderDetections(e.detections)}
        <div class="actions">
          <button class="btn danger" data-testid="delete-face" @click=${()=>{this.dialogError="",this.deleteIds=[e.id]}}>
            ${x($.delete)} Delete
          </button>
          <button class="btn primary" data-testid="assign-face" @click=${()=>this.openAssign([e.id])}>
            This is…
          </button>
        </div>
      </div>
    </div>`}renderWhy(e){if(e.corrected){let u=e.detections.filter(m=>!m.error&&m.name!=null);return o`<div class="why" data-testid="detail-why">
        <div><b>A match: you named this face.</b></div>
        <ul>
          <li class="ok">✓ named ${e.name} by you</li>
          ${u.map(m=>o`<li class="secondary">
              ${m.detector} had answered ${m.name} (${q(m.confidence)})
            </li>`)}
        </ul>
      </div>`}let t=this.info.camera_rules[e.camera],s=t??this.info.rules,r=e.box.width*e.box.height,n=e.name.toLowerCase()!=="unknown",h=[[n,n?`named ${e.name} by ${e.detector}`:"not known to the detector"],...e.kind==="unknown"&&n?[[e.confidence>=s.unknown_confidence,`confidence ${q(e.confidence)} ${e.confidence>=s.unknown_confidence?"≥":"<"} ${s.unknown_confidence} % (unknown_confidence)`]]:[],[e.confidence>=s.confidence,`confidence ${q(e.confidence)} ${e.confidence>=s.confidence?"≥":"<"} ${s.confidence} % (confidence)`],[r>=s.min_face_area,`face ${r} px² ${r>=s.min_face_area?"≥":"<"} ${s.min_face_area} px² (min_face_area)`]];if(e.kind==="miss"&&h.every(([u])=>u)){let u=e.detections.find(m=>m.detector===e.detector&&m.reason);h.push([!1,u?.reason??"not matched by enough detectors (min_detectors_agree), or the options changed since"])}let c=e.kind==="match"?"A match: every rule is met.":e.kind==="miss"?"A miss: the detector named someone, but not surely enough.":`Unknown: nobody known, or confidence below ${s.unknown_confidence} % (unknown_confidence).`;return o`<div class="why" data-testid="detail-why">
      <div><b>${c}</b></div>
      <ul>
        ${h.map(([u,m])=>o`<li class=${u?"ok":"no"}>${u?"✓":"✗"} ${m}</li>`)}
      </ul>
      <div class="secondary small">
        With the options as they are now${t?` (${e.camera}'s own settings)`:""}.
      </div>
    </div>`}renderDetections(e){return e.length?o`<table class="detections" data-testid="detections">
      <thead>
        <tr><th>Detector</th><th>Answer</th><th>Confidence</th><th>Why</th></tr>
      </thead>
      <tbody>
        ${e.map(t=>{let s=t.error?o`<span class="error">error: ${t.error}</span>`:t.name==null?"found no face here":t.kind==="match"?o`<span class="badge match">match</span>`:t.reason??t.kind??"";return o`<tr data-testid="detection-row" data-detector=${t.detector}>
            <td>${t.detector}</td>
            <td>${t.error?"–":t.name??"–"}</td>
            <td>${t.error||t.name==null?"–":q(t.confidence)}</td>
            <td>${s}</td>
          </tr>`})}
      </tbody>
    </table>`:o``}renderAssign(e){let t=this.assignName.trim().toLowerCase(),s=this.persons.filter(r=>!t||r.toLowerCase().includes(t));return o`<div class="scrim" @click=${()=>!this.busy&&(this.assignIds=null)}>
      <div class="dialog" role="dialog" aria-modal="true" data-testid="assign-dialog" @click=${j}>
        <h2>${e.length===1?"This is…":`These ${e.length} faces are…`}</h2>
        <p class="secondary small">
          The face crop becomes a training image of the person and every detector learns it.
        </p>
        <input
          data-testid="assign-name"
          placeholder="Name (choose or type a new one)"
          autocomplete="off"
          .value=${this.assignName}
          @input=${r=>this.assignName=r.target.value}
          @keydown=${r=>r.key==="Enter"&&this.assign()}
        />
        <div class="chips">
          ${s.map(r=>o`<button
              class="chip ${r.toLowerCase()===t?"on":""}"
              data-testid="assign-choice"
              data-name=${r}
              @click=${()=>this.assignName=r}
            >
              ${r}
            </button>`)}
        </div>
        ${this.dialogError?o`<p class="error" data-testid="assign-error">${this.dialogError}</p>`:d}
        <div class="actions">
          <button class="btn" data-testid="assign-cancel" ?disabled=${this.busy} @click=${()=>this.assignIds=null}>
            Cancel
          </button>
          <button class="btn primary" data-testid="assign-submit" ?disabled=${this.busy||!t} @click=${()=>this.assign()}>
            ${this.busy?"Training…":"Save"}
          </button>
        </div>
      </div>
    </div>`}};f.styles=[L,k`
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
    `],l([v({attribute:!1})],f.prototype,"api",2),l([v({attribute:!1})],f.prototype,"info",2),l([v({type:Boolean})],f.prototype,"narrow",2),l([p()],f.prototype,"results",2),l([p()],f.prototype,"next",2),l([p()],f.prototype,"loading",2),l([p()],f.prototype,"loaded",2),l([p()],f.prototype,"error",2),l([p()],f.prototype,"filters",2),l([p()],f.prototype,"selected",2),l([p()],f.prototype,"detail",2),l([p()],f.prototype,"frameSize",2),l([p()],f.prototype,"assignIds",2),l([p()],f.prototype,"assignName",2),l([p()],f.prototype,"deleteIds",2),l([p()],f.prototype,"busy",2),l([p()],f.prototype,"dialogError",2),l([p()],f.prototype,"persons",2);H("dt-faces",f);function Fe(a){let i=s=>a.reduce((r,n)=>r+n[s].length,0),e=a.flatMap(s=>s.failed),t=`Trained: ${i("trained")}, already known: ${i("skipped")}, failed: ${e.length}`;return e.length&&(t+=` (${e[0].detector}: ${e[0].error})`),t}var b=class extends w{constructor(){super(...arguments);this.narrow=!1;this.persons=null;this.open=null;this.images=null;this.error="";this.message="";this.busy=!1;this.dragging=!1;this.adding=!1;this.newName="";this.newFiles=[];this.dialogError="";this.confirmRemove=!1}willUpdate(e){e.has("api")&&(this.open=null,this.loadPersons())}async loadPersons(){try{this.persons=(await this.api.persons()).persons}catch(e){this.error=y(e)}}async openPerson(e){this.open=e,this.images=null,this.message="",this.error="",await this.loadImages()}async loadImages(){let e=this.open;if(e)try{let{images:t}=await this.api.trainImages(e);e===this.open&&(this.images=t)}catch(t){this.error=y(t),this.images=[]}}async upload(e){let t=this.open,s=e.filter(ee);if(!(!t||!s.length||this.busy)){this.busy=!0,this.error="",this.message=`Uploading ${s.length} image${s.length===1?"":"s"}…`;try{this.message=Fe(await this.api.upload(t,s)),A(this,"dt-changed")}catch(r){this.message="",this.error=y(r)}finally{this.busy=!1,await Promise.all([this.loadImages(),this.loadPersons()])}}}async deleteImage(e){let t=this.open;if(!(!t||this.busy)){this.busy=!0,this.error="";try{await this.api.deleteTrainImage(t,e),this.message=`Deleted ${e}; the detectors relearnt the other images.`,A(this,"dt-changed")}catch(s){this.error=y(s)}finally{this.busy=!1,await Promise.all([this.loadImages(),this.loadPersons()])}}}async removePerson(){let e=this.open;if(!(!e||this.busy)){this.busy=!0,this.dialogError="";try{await this.api.removePerson(e),this.confirmRemove=!1,this.open=null,this.message="",A(this,"dt-changed"),await this.loadPersons()}catch(t){this.dialogError=y(t)}finally{this.busy=!1}}}async addPerson(){let e=this.newName.trim(),t=this.newFiles.filter(ee);if(!(!e||!t.length||this.busy)){this.busy=!0,this.dialogError="";try{let s=await this.api.upload(e,t);this.adding=!1,A(this,"dt-changed"),await this.loadPersons(),await this.openPerson(s[0]?.name??e),this.message=Fe(s)}catch(s){this.dialogError=y(s)}finally{this.busy=!1}}}dropHandlers(e){return{over:t=>{t.preventDefault(),this.dragging=!0},leave:()=>this.dragging=!1,drop:t=>{t.preventDefault(),this.dragging=!1,e([...t.dataTransfer?.files??[]])}}}render(){return o`
      ${this.open?this.renderPerson(this.open):this.renderList()}
      ${this.adding?this.renderAdd():d}
      ${this.confirmRemove&&this.open?le({title:`Remove ${this.open}?`,text:o`Every detector forgets ${this.open}, and the
              ${this.images?.length??""} training images in <code>train/${this.open}/</code> are
              deleted. Recorded faces stay in the history.`,confirm:"Remove",busy:this.busy,error:this.dialogError,onConfirm:()=>this.removePerson(),onCancel:()=>this.confirmRemove=!1}):d}
    `}renderList(){let e=this.api.hass.locale?.language??this.api.hass.language,t=this.persons;return o`
      <div class="toolbar">
        <span class="secondary">${t?`${t.length} ${t.length===1?"person":"people"}`:""}</span>
        <span class="spacer"></span>
        <button
          class="btn primary"
          data-testid="add-person"
          @click=${()=>{this.adding=!0,this.newName="",this.newFiles=[],this.dialogError=""}}
        >
          ${x($.plus)} Add person
        </button>
      </div>
      ${this.error?o`<p class="error" data-testid="people-error">${this.error}</p>`:d}
      ${t===null?o`<p class="secondary center">Loading…</p>`:t.length===0?o`<div class="empty" data-testid="empty-people">
              <h2>Nobody to recognize yet</h2>
              <p>
                Add a person with 3–10 clear photos of their face, from different days and lighting
                (one face per photo). Or name a face in the Faces tab with <i>This is…</i>.
              </p>
            </div>`:o`<div class="people">
              ${t.map(s=>o`<div
                  class="person card"
                  role="button"
                  tabindex="0"
                  data-testid="person-card"
                  data-name=${s.name}
                  @click=${()=>this.openPerson(s.name)}
                  @keydown=${r=>r.key==="Enter"&&this.openPerson(s.name)}
                >
                  <div class="avatar">
                    ${s.face_url?o`<img src=${s.face_url} alt="" loading="lazy" />`:o`<span>${s.name.slice(0,1).toUpperCase()}</span>`}
                  </div>
                  <div class="info">
                    <div class="name">${s.name}</div>
                    <div class="secondary small">
                      ${s.train_images} training image${s.train_images===1?"":"s"}
                      ${s.detectors.length?o`· ${s.detectors.join(", ")}`:d}
                    </div>
                    <div class="secondary small" title=${I(s.last_seen?.time,e)}>
                      ${s.last_seen?`Seen ${P(s.last_seen.time,e)} · ${s.last_seen.camera}`:"Not seen yet"}
                    </div>
                  </div>
                </div>`)}
            </div>`}
    `}renderPerson(e){let t=this.dropHandlers(r=>this.upload(r)),s=this.persons?.find(r=>r.name===e);return o`
      <div class="toolbar">
        <button class="icon-btn" title="Back" data-testid="person-back" @click=${()=>{this.open=null,this.error="",this.message=""}}>
          ${x($.back)}
        </button>
        <h2 class="title" data-testid="person-name">${e}</h2>
        <span class="spacer"></span>
        <button class="btn danger" data-testid="remove-person" ?disabled=${this.busy} @click=${()=>{this.dialogError="",this.confirmRemove=!0}}>
          ${x($.delete)} Remove person
        </button>
      </div>
      ${s?o`<p class="secondary">
            ${s.detectors.length?`Trained on ${s.detectors.join(", ")}.`:"Not trained on any detector yet."}
          </p>`:d}
      <label
        class="drop ${this.dragging?"dragging":""}"
        data-testid="upload-drop"
        @dragover=${t.over}
        @dragleave=${t.leave}
        @drop=${t.drop}
      >
        <input
          type="file"
          multiple
          accept="image/*"
          data-testid="upload-input"
          ?disabled=${this.busy}
          @change=${r=>{let n=r.target;this.upload([...n.files??[]]),n.value=""}}
        />
        ${x($.upload)}
        <span>${this.busy?"Working…":o`<b>Add photos</b>: drop them here or click to choose`}</span>
      </label>
      ${this.message?o`<p class="message" data-testid="upload-result">${this.message}</p>`:d}
      ${this.error?o`<p class="error" data-testid="people-error">${this.error}</p>`:d}
      ${this.images===null?o`<p class="secondary center">Loading…</p>`:this.images.length===0?o`<div class="empty" data-testid="empty-train-images">
              <h2>No training images</h2>
              <p>Add 3–10 clear photos of ${e}'s face.</p>
            </div>`:o`<div class="grid">
              ${this.images.map(r=>o`<div class="train card" data-testid="train-image" data-file=${r.file}>
                  ${r.url?o`<img src=${r.url} alt=${r.file} loading="lazy" />`:d}
                  <div class="train-meta">
                    <span class="small ${r.trained.length?"":"secondary"}">
                      ${r.trained.length?r.trained.join(", "):"not trained"}
                    </span>
                    <button
                      class="icon-btn"
                      title="Delete this image"
                      data-testid="delete-train-image"
                      ?disabled=${this.busy}
                      @click=${()=>this.deleteImage(r.file)}
                    >
                      ${x($.delete)}
                    </button>
                  </div>
                </div>`)}
            </div>`}
    `}renderAdd(){let e=this.dropHandlers(s=>this.newFiles=[...this.newFiles,...s.filter(ee)]),t=this.newName.trim()&&this.newFiles.length&&!this.busy;return o`<div class="scrim" @click=${()=>!this.busy&&(this.adding=!1)}>
      <div class="dialog" role="dialog" aria-modal="true" data-testid="add-person-dialog" @click=${j}>
        <h2>Add person</h2>
        <input
          class="full"
          data-testid="new-person-name"
          placeholder="Name"
          autocomplete="off"
          .value=${this.newName}
          @input=${s=>this.newName=s.target.value}
        />
        <label
          class="drop ${this.dragging?"dragging":""}"
          data-testid="new-person-drop"
          @dragover=${e.over}
          @dragleave=${e.leave}
          @drop=${e.drop}
        >
          <input
            type="file"
            multiple
            accept="image/*"
            data-testid="new-person-files"
            @change=${s=>{let r=s.target;this.newFiles=[...this.newFiles,...[...r.files??[]].filter(ee)],r.value=""}}
          />
          ${x($.upload)}
          <span>
            ${this.newFiles.length?`${this.newFiles.length} photo${this.newFiles.length===1?"":"s"} chosen`:o`<b>Photos</b>: drop them here or click to choose (3–10 work best)`}
          </span>
        </label>
        ${this.dialogError?o`<p class="error" data-testid="add-person-error">${this.dialogError}</p>`:d}
        <div class="actions">
          <button class="btn" data-testid="new-person-cancel" ?disabled=${this.busy} @click=${()=>this.adding=!1}>
            Cancel
          </button>
          <button class="btn primary" data-testid="new-person-submit" ?disabled=${!t} @click=${()=>this.addPerson()}>
            ${this.busy?"Training…":"Add and train"}
          </button>
        </div>
      </div>
    </div>`}};b.styles=[L,k`
      :host {
        display: block;
      }
      .title {
        margin: 0;
        font-size: 1.3em;
        font-weight: 500;
        overflow-wrap: anywhere;
      }
      .spacer {
        flex: 1;
      }
      .center {
        text-align: center;
      }
      .small {
        font-size: 0.85em;
      }
      .people {
        display: grid;
        gap: 8px;
        grid-template-columns: repeat(auto-fill, minmax(260px, 1fr));
      }
      .person {
        display: flex;
        gap: 12px;
        align-items: center;
        padding: 10px;
        cursor: pointer;
        min-width: 0;
      }
      .person:focus-visible {
        outline: 3px solid var(--dt-primary);
      }
      .avatar {
        flex: none;
        width: 64px;
        height: 64px;
        border-radius: 50%;
        overflow: hidden;
        display: flex;
        align-items: center;
        justify-content: center;
        background: var(--dt-primary);
        color: var(--dt-on-primary);
        font-size: 28px;
        font-weight: 500;
      }
      .avatar img {
        width: 100%;
        height: 100%;
        object-fit: cover;
      }
      .info {
        min-width: 0;
      }
      .name {
        font-weight: 500;
        font-size: 1.1em;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .drop {
        position: relative;
        display: flex;
        align-items: center;
        justify-content: center;
        gap: 10px;
        padding: 18px;
        margin: 12px 0;
        border: 2px dashed var(--dt-divider);
        border-radius: var(--dt-radius);
        color: var(--dt-secondary);
        cursor: pointer;
        text-align: center;
      }
      .drop.dragging,
      .drop:hover,
      .drop:focus-within {
        border-color: var(--dt-primary);
        color: var(--dt-primary);
      }
      .drop input {
        position: absolute;
        inset: 0;
        opacity: 0;
        width: 100%;
        height: 100%;
        cursor: pointer;
      }
      .full {
        width: 100%;
      }
      .message {
        padding: 8px 12px;
        border-left: 4px solid var(--dt-primary);
        background: var(--dt-card);
        border-radius: 4px;
      }
      .train {
        overflow: hidden;
      }
      .train img {
        width: 100%;
        aspect-ratio: 1;
        object-fit: cover;
        display: block;
      }
      .train-meta {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 4px;
        padding: 0 0 0 8px;
        min-width: 0;
      }
      .train-meta span {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      @media (max-width: 600px) {
        .people {
          grid-template-columns: 1fr;
        }
      }
    `],l([v({attribute:!1})],b.prototype,"api",2),l([v({attribute:!1})],b.prototype,"info",2),l([v({type:Boolean})],b.prototype,"narrow",2),l([p()],b.prototype,"persons",2),l([p()],b.prototype,"open",2),l([p()],b.prototype,"images",2),l([p()],b.prototype,"error",2),l([p()],b.prototype,"message",2),l([p()],b.prototype,"busy",2),l([p()],b.prototype,"dragging",2),l([p()],b.prototype,"adding",2),l([p()],b.prototype,"newName",2),l([p()],b.prototype,"newFiles",2),l([p()],b.prototype,"dialogError",2),l([p()],b.prototype,"confirmRemove",2);H("dt-people",b);var Ve=[["faces","Faces"],["people","People"],["detectors","Detectors"]],_=class extends w{constructor(){super(...arguments);this.narrow=!1;this.tab="faces";this.info=null;this.api=null;this.error="";this.loadingInfo=!1}willUpdate(e){if(e.has("route")&&this.route){let t=this.route.path.split("/")[1];this.tab=Ve.some(([s])=>s===t)?t:"faces"}e.has("hass")&&this.hass&&!this.info&&!this.loadingInfo&&!this.error&&this.loadInfo()}async loadInfo(){if(this.hass){this.loadingInfo=!0;try{let e=await new Y(this.hass,this.entryId).info();(!this.api||this.api.entryId!==e.config_entry_id)&&(this.api=new Y(this.hass,e.config_entry_id)),this.entryId=e.config_entry_id,this.info=e,this.error=""}catch(e){this.error=y(e)}finally{this.loadingInfo=!1}}}select(e){this.tab=e,this.route&&de(`${this.route.prefix}/${e}`,!0),e==="detectors"&&this.loadInfo()}chooseEntry(e){this.entryId=e,this.loadInfo()}render(){let e=this.info;return o`
      <div class="header">
        <div class="bar">
          ${this.narrow?o`<button
                class="icon-btn"
                title="Menu"
                data-testid="menu-button"
                @click=${()=>A(this,"hass-toggle-menu")}
              >
                ${x($.menu)}
              </button>`:d}
          <div class="title">Double Take</div>
          ${e&&e.entries.length>1?o`<select
                data-testid="entry-select"
                aria-label="Double Take entry"
                @change=${t=>this.chooseEntry(t.target.value)}
              >
                ${e.entries.map(t=>o`<option value=${t.config_entry_id} ?selected=${t.config_entry_id===e.config_entry_id}>
                      ${t.title}
                    </option>`)}
              </select>`:d}
        </div>
        <div class="tabs" role="tablist">
          ${Ve.map(([t,s])=>o`<button
              role="tab"
              class="tab ${this.tab===t?"active":""}"
              aria-selected=${this.tab===t?"true":"false"}
              data-testid="tab-${t}"
              @click=${()=>this.select(t)}
            >
              ${s}
            </button>`)}
        </div>
      </div>
      <div class="content" @dt-changed=${()=>this.loadInfo()}>${this.renderContent()}</div>
    `}renderContent(){if(this.error&&!this.info)return o`<div class="empty" data-testid="panel-error">
        <h2>Double Take is not available</h2>
        <p class="error">${this.error}</p>
        <p>
          <button class="btn" data-testid="panel-retry" @click=${()=>{this.error="",this.loadInfo()}}>
            Try again
          </button>
        </p>
      </div>`;if(!this.info||!this.api)return o`<p class="secondary loading">Loading…</p>`;switch(this.tab){case"people":return o`<dt-people .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-people>`;case"detectors":return o`<dt-detectors .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-detectors>`;default:return o`<dt-faces .api=${this.api} .info=${this.info} ?narrow=${this.narrow}></dt-faces>`}}};_.styles=[L,k`
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
    `],l([v({attribute:!1})],_.prototype,"hass",2),l([v({type:Boolean,reflect:!0})],_.prototype,"narrow",2),l([v({attribute:!1})],_.prototype,"route",2),l([v({attribute:!1})],_.prototype,"panel",2),l([p()],_.prototype,"tab",2),l([p()],_.prototype,"info",2),l([p()],_.prototype,"api",2),l([p()],_.prototype,"error",2);H("double-take-panel",_);export{_ as DoubleTakePanel};
/*! Bundled license information:

@lit/reactive-element/css-tag.js:
  (**
   * @license
   * Copyright 2019 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)

@lit/reactive-element/reactive-element.js:
lit-html/lit-html.js:
lit-element/lit-element.js:
@lit/reactive-element/decorators/custom-element.js:
@lit/reactive-element/decorators/property.js:
@lit/reactive-element/decorators/state.js:
@lit/reactive-element/decorators/event-options.js:
@lit/reactive-element/decorators/base.js:
@lit/reactive-element/decorators/query.js:
@lit/reactive-element/decorators/query-all.js:
@lit/reactive-element/decorators/query-async.js:
@lit/reactive-element/decorators/query-assigned-nodes.js:
  (**
   * @license
   * Copyright 2017 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)

lit-html/is-server.js:
  (**
   * @license
   * Copyright 2022 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)

@lit/reactive-element/decorators/query-assigned-elements.js:
  (**
   * @license
   * Copyright 2021 Google LLC
   * SPDX-License-Identifier: BSD-3-Clause
   *)
*/
