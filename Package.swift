// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "lgc-shell",
    products: [
        .executable(name: "lgc-shell", targets: ["lgc-shell"]),
        .executable(name: "lgc-bench", targets: ["lgc-bench"]),
    ],
    dependencies: [
        // SQLite through GRDB (it links Debian's libsqlite3): migrations, WAL, the online backup API.
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // Reading Binance's published kline archives (.zip) entry by entry, streamed.
        .package(url: "https://github.com/weichsel/ZIPFoundation", exact: "0.9.20"),
    ],
    targets: [
        // System libraries (Debian packages; .ci/run installs them).
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        // XGBoost and OpenBLAS: headers only; NativeLibraries opens the libraries when a model first needs them, so
        // starting the shell does not pay for loading them (see Sources/NativeLibraries/include/NativeLibraries.h).
        .systemLibrary(name: "CXGBoost", providers: [.apt(["libxgboost-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .target(name: "NativeLibraries", dependencies: ["CXGBoost", "CBLAS"], linkerSettings: [.linkedLibrary("dl")]),

        // HTTP through the system's libcurl, opened at run time (see Sources/CCurl/include/lgc_http.h).
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "MarketData", dependencies: ["CCurl", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .target(name: "Learning", dependencies: ["MarketData", "CXGBoost", "CBLAS", "NativeLibraries"]),
        .target(name: "Charts"),
        .target(name: "FeedbackLoop", dependencies: ["MarketData", "Learning"]),
        .target(name: "SessionStore", dependencies: ["FeedbackLoop", "MarketData", .product(name: "GRDB", package: "GRDB.swift")]),
        // The application: the live loop's owner, session lifecycle and auto mode's scheduler, between the
        // shell (which parses, renders and edits lines) and the loop, the store and the data.
        .target(name: "LoopApp", dependencies: ["MarketData", "FeedbackLoop", "SessionStore"]),
        .target(name: "Shell", dependencies: ["MarketData", "Learning", "FeedbackLoop", "Charts", "CEditLine", "SessionStore",
                                              "LoopApp"]),
        .executableTarget(name: "lgc-shell", dependencies: ["Shell"]),
        .executableTarget(name: "lgc-bench", dependencies: ["MarketData", "Learning", "FeedbackLoop", "Shell", "CTestPTY",
                                                                 .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                         exclude: ["README.md", "python_reference.py"]),

        .target(name: "CTestPTY", path: "Tests/Support/CTestPTY"),
        .testTarget(name: "MarketDataTests", dependencies: ["MarketData", .product(name: "ZIPFoundation", package: "ZIPFoundation")]),
        .testTarget(name: "LearningTests", dependencies: ["Learning", "MarketData"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts"], resources: [.copy("Golden")]),
        .testTarget(name: "FeedbackLoopTests", dependencies: ["FeedbackLoop", "MarketData", "Learning"]),
        .testTarget(name: "SessionStoreTests", dependencies: ["SessionStore", "FeedbackLoop", "MarketData",
                                                             .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "ShellTests", dependencies: ["Shell", "LoopApp", "FeedbackLoop", "MarketData", "SessionStore", "CTestPTY",
                                                   .product(name: "ZIPFoundation", package: "ZIPFoundation")],
                    resources: [.copy("Golden")]),
    ]
)
