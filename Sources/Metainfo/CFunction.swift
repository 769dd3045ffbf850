#if canImport(Glibc)
import Glibc
#endif

/// A C library function that Swift's Glibc module does not export (it
/// skips `fcntl.h`'s and `malloc.h`'s GNU extensions), looked up at run
/// time; nil where the C library lacks it. `T` must be the matching
/// `@convention(c)` function type.
public func lookUpCFunction<T>(_ name: String, as type: T.Type) -> T? {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
    return unsafeBitCast(symbol, to: type)
}
