;;; libsv2 for GNU Guix: the Stratum V2 SDK (libsv2.a with the C ABI and the C++ API,
;;; libsv2.so with the C ABI, headers, CMake and pkg-config files) and the `sv2' command.
;;;
;;; Both build offline: the source is the tarball guix/make-source.sh writes, which carries
;;; every crate of Cargo.lock in vendor/ and a .cargo/config.toml pointing cargo at them.
;;;
;;;   bash guix/make-source.sh /tmp/libsv2-src guix/libsv2-0.1.0-vendored.tar.gz
;;;   guix build -L guix libsv2          # or: guix build -f guix/libsv2.scm
;;;   guix build -L guix sv2
;;;   guix shell -m guix/manifest.scm    # a shell that builds this tree
(define-module (libsv2)
  #:use-module (guix packages)
  #:use-module (guix gexp)
  #:use-module (guix utils)
  #:use-module (guix build-system cmake)
  #:use-module (guix build-system gnu)
  #:use-module ((guix licenses) #:prefix license:)
  #:use-module (gnu packages boost)
  #:use-module (gnu packages cmake)
  #:use-module (gnu packages pkg-config)
  #:use-module (gnu packages rust))

(define %libsv2-version "0.1.0")

;; The vendored source tarball next to this file (content-addressed by the store, like any
;; local-file). A published release would use url-fetch with its sha256 instead.
(define %libsv2-source
  (local-file (string-append "libsv2-" %libsv2-version "-vendored.tar.gz")))

;; cargo keeps its home in the build tree and never goes to the network: the build container
;; has none, and the vendored crates are all it needs. SOURCE_DATE_EPOCH and the path maps
;; CMakeLists.txt adds make the archives and libraries bit-identical wherever they are built.
(define %offline-cargo-phase
  #~(lambda _
      (setenv "CARGO_HOME" (string-append (getcwd) "/.cargo-home"))
      (setenv "CARGO_NET_OFFLINE" "true")
      (setenv "SOURCE_DATE_EPOCH" "0")))

(define-public libsv2
  (package
    (name "libsv2")
    (version %libsv2-version)
    (source %libsv2-source)
    (build-system cmake-build-system)
    (arguments
     (list
      ;; The C, C++ and Rust tests run from scripts/test.sh; they need the interop crates
      ;; and a regtest node this package does not ship.
      #:tests? #f
      #:configure-flags
      #~(list "-DSV2_BUILD_EXAMPLES=OFF" "-DCMAKE_INSTALL_LIBDIR=lib")
      #:phases
      #~(modify-phases %standard-phases
          (add-after 'unpack 'offline-cargo #$%offline-cargo-phase))))
    (native-inputs (list rust `(,rust "cargo") pkg-config))
    (home-page "https://example.invalid/libsv2")
    (synopsis "Stratum V2 mining protocol library for C and C++")
    (description
     "libsv2 implements the Stratum V2 mining protocols (Common, Mining, Job
Declaration and Template Distribution messages, framing, the Noise NX handshake with
certificates, and mining channels) in Rust behind a stable C ABI and an idiomatic C++
API.  It installs @file{libsv2.a} (both APIs), @file{libsv2.so} (the C ABI), the headers
@file{sv2.h} and @file{sv2/sv2.hpp}, a CMake package (@code{find_package(sv2)}) and
pkg-config files.")
    (license license:expat)))

(define-public sv2
  (package
    (inherit libsv2)
    (name "sv2")
    (build-system gnu-build-system)
    (arguments
     (list
      #:tests? #f
      #:phases
      #~(modify-phases %standard-phases
          (add-after 'unpack 'offline-cargo #$%offline-cargo-phase)
          (delete 'configure)
          ;; The embedded regtest node (libbitcoinkernel-sys) is C++ built by CMake from
          ;; the vendored crate; the path maps keep the build directory out of the binary.
          (replace 'build
            (lambda* (#:key parallel-build? #:allow-other-keys)
              (let* ((src (getcwd))
                     (maps (list (string-append src "=/libsv2")
                                 (string-append src "/.cargo-home=/cargo")))
                     (flags (lambda (opt)
                              (string-join (map (lambda (m) (string-append opt m)) maps)))))
                (setenv "RUSTFLAGS" (flags "--remap-path-prefix="))
                (setenv "CFLAGS" (flags "-ffile-prefix-map="))
                (setenv "CXXFLAGS" (flags "-ffile-prefix-map="))
                (setenv "ZERO_AR_DATE" "1")
                (unless parallel-build? (setenv "NUM_JOBS" "1"))
                (invoke "cargo" "build" "--offline" "--locked" "--profile" "dist"
                        "-p" "sv2-roles" "--bin" "sv2"))))
          (replace 'install
            (lambda _
              (install-file "target/dist/sv2" (string-append #$output "/bin")))))))
    (native-inputs (list rust `(,rust "cargo") cmake-minimal boost))
    (synopsis "Stratum V2 template provider, pool and miner")
    (description
     "The @command{sv2} command runs the Stratum V2 roles built on libsv2: a
Template Provider (an embedded regtest node or Bitcoin Core over RPC), a pool and a CPU
miner, plus key generation.")))

libsv2
