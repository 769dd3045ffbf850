import Metainfo

/// glibc gives freed heap memory back to the kernel once 128 KiB are free at
/// the top of an arena, and takes fresh pages (a page fault per 4 KiB) when
/// it grows again. A transfer frees and reallocates receive buffers all the
/// time, so a 1 GiB download took 13 000–86 000 page faults and up to half
/// a second of system time for memory it had a moment before. Keeping freed
/// memory (up to the process's own high-water mark) brings that to ~5 500
/// faults; peak RSS is unchanged, since the peak is what is kept. The
/// threshold (32 MiB free at an arena's top) is far above that churn yet
/// still lets a long-running daemon give a real spike back. (Setting it
/// freezes glibc's mmap threshold at 128 KiB: the hot buffers stay below
/// it, see `TorrentStorage.hashChunk`; raising that threshold too kept
/// fragmented large buffers and added 3–4 MiB to a download's peak RSS.)
enum MallocTuning {
    private static let mTrimThreshold: Int32 = -1  // malloc.h's M_TRIM_THRESHOLD

    static func keepFreedMemory() {
        guard let mallopt = lookUpCFunction("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self) else { return }
        _ = mallopt(mTrimThreshold, 32 << 20)
    }
}
