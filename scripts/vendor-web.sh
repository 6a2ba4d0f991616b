#!/usr/bin/env bash
# Vendors the bpmn.io toolkits the web apps use into web/vendor/<package>-<version>/ from
# their npm packages' prebuilt dist files, at pinned versions, with their LICENSE files.
# The licences require the bpmn.io watermark the toolkits draw to stay visible: nothing
# here (or in web/) hides it. Re-run after changing a version below; commit the result.
# Everything under web/ is embedded in the binary (Makefile EMBEDDED), so only the files
# the apps load are copied (no source maps, no development builds).
# Usage: scripts/vendor-web.sh          (needs npm; talks only to the npm registry)
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  sha256 of the npm tarball (checked after npm pack)
pkgs=(
  "bpmn-js@18.31.1 060ce3966426bcc8705140ec75626ffb51038d17f54b5dcd1a2f28d36bf797d6"
  "dmn-js@17.10.2 8d4c200e2f756699c9ef5920c8ccdf801dfcb933af0a8f9dcf82ebf798bbf086"
  "@bpmn-io/form-js@1.23.0 3093010d18c5fbaa152dfe72f20986dc43f922d56f6133b9ae676150bac57b56"
  "bpmn-js-properties-panel@5.65.3 c3a6907be7ad61c1674def3af12fa1e7d93669c466eedfbcc6a5290b5904ca54"
  "@bpmn-io/properties-panel@3.55.0 751aebdefe1333b1a598efc079d13b01b3c74bba01e8a6f5b947b1de2d0fd1ec"
  "zeebe-bpmn-moddle@1.18.0 e14a88d57db5706bc6347b6e5e41c492ed5cff309bb54b663cf3bc84c5f0c714"
)
# files to copy, per package, relative to its package/ directory
files_bpmn_js=(LICENSE dist/bpmn-modeler.production.min.js dist/bpmn-navigated-viewer.production.min.js dist/assets/diagram-js.css
               dist/assets/bpmn-js.css dist/assets/bpmn-font/css/bpmn-embedded.css)
files_dmn_js=(LICENSE dist/dmn-modeler.production.min.js dist/assets/diagram-js.css
              dist/assets/dmn-js-shared.css dist/assets/dmn-js-drd.css
              dist/assets/dmn-js-decision-table.css dist/assets/dmn-js-decision-table-controls.css
              dist/assets/dmn-js-literal-expression.css dist/assets/dmn-js-boxed-expression.css
              dist/assets/dmn-js-boxed-expression-controls.css dist/assets/dmn-font/css/dmn-embedded.css)
files_form_js=(LICENSE dist/form-viewer.umd.js dist/assets/form-js.css
               dist/form-editor.umd.js dist/assets/form-js-editor.css dist/assets/draggle.css
               dist/assets/properties-panel.css)
# the properties panel: its UMD bundle (it carries @bpmn-io/properties-panel's code; that
# package gives the style sheet) and the zeebe: moddle extension it edits
files_bpmn_js_properties_panel=(LICENSE dist/bpmn-js-properties-panel.umd.js)
files_properties_panel=(LICENSE dist/assets/properties-panel.css)
files_zeebe_bpmn_moddle=(LICENSE resources/zeebe.json)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf web/vendor
mkdir -p web/vendor
for entry in "${pkgs[@]}"; do
  spec=${entry% *} sum=${entry#* }
  name=${spec%@*} version=${spec##*@}
  short=${name##*/}                     # @bpmn-io/form-js -> form-js
  tgz=$(cd "$tmp" && npm pack --silent "$spec" | tail -1)
  echo "$sum  $tmp/$tgz" | sha256sum -c --quiet -
  mkdir -p "$tmp/$short" && tar xzf "$tmp/$tgz" -C "$tmp/$short"
  var="files_${short//-/_}[@]"
  dest="web/vendor/$short-$version"
  for f in "${!var}"; do
    mkdir -p "$dest/$(dirname "$f")"
    cp "$tmp/$short/package/$f" "$dest/$f"
  done
  echo "vendored $spec into $dest ($(du -sk "$dest" | cut -f1) KiB)"
done
