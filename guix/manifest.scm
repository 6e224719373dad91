;;; What building libsv2 and the sv2 command needs, for `guix shell -m guix/manifest.scm'
;;; (then bash guix/make-source.sh and sh guix/build-offline.sh inside it, or cmake/cargo
;;; as README.md says) and `guix time-machine ... -- shell --container -m'. The same
;;; toolchain guix/libsv2.scm builds with.
(use-modules (gnu packages))

(specifications->manifest
 (list "bash-minimal" "coreutils" "findutils" "grep" "sed" "tar" "gzip"
       "gcc-toolchain" "make" "cmake-minimal" "pkg-config"
       ;; cargo and rustc (Rust >= 1.85, as Cargo.toml's rust-version says)
       "rust" "rust:cargo"
       ;; Boost headers: libbitcoinkernel, the sv2 command's embedded regtest node
       "boost"
       ;; git lists the tree's files for guix/make-source.sh
       "git-minimal"))
