// Compiled twice: by MSBuild's RoslynCodeTaskFactory for FineTuning.Core.targets (so it must stay
// netstandard2.0-friendly: no Span, no BinaryPrimitives), and into FineTuning.Core itself with
// FINETUNING_PATCHER_NO_TASK defined, where the runtime load path (FineTuningRuntime) patches a private copy
// with the same logic and the tests reach it through InternalsVisibleTo. The ELF types are internal so they
// never become public API of the package.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace FineTuning.Build
{
    /// <summary>What <see cref="ElfVersionNeedPatcher"/> did to a file.</summary>
    internal enum ElfPatchOutcome
    {
        /// <summary>The version need was found and marked weak.</summary>
        Patched,
        /// <summary>The version need was already weak; nothing was written.</summary>
        AlreadyPatched,
        /// <summary>The file has no such version need; nothing was written.</summary>
        NotPresent,
        /// <summary>The file is not a well-formed 64-bit little-endian ELF; nothing was written.</summary>
        Malformed,
    }

    /// <summary>Result of one patch attempt, with a human-readable reason.</summary>
    internal sealed class ElfPatchResult
    {
        /// <summary>Creates a result.</summary>
        public ElfPatchResult(ElfPatchOutcome outcome, string message)
        {
            Outcome = outcome;
            Message = message;
        }

        /// <summary>What happened.</summary>
        public ElfPatchOutcome Outcome { get; }

        /// <summary>Why, in words.</summary>
        public string Message { get; }
    }

    /// <summary>
    /// Marks one entry of an ELF file's <c>.gnu.version_r</c> (SHT_GNU_verneed) section weak
    /// (<c>VER_FLG_WEAK</c> = 0x2 in <c>vna_flags</c>), so the dynamic loader no longer refuses the file
    /// when the providing library lacks that version. Format: System V gABI and the LSB "Symbol Versioning"
    /// chapter (Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32;
    /// Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32).
    /// Every offset is bounds-checked; on anything unexpected the input is left untouched.
    /// </summary>
    internal static class ElfVersionNeedPatcher
    {
        /// <summary>The library whose version need TorchSharp 0.107's native library over-declares.</summary>
        public const string LibStdCxx = "libstdc++.so.6";

        /// <summary>The version only GCC 13's libstdc++ defines.</summary>
        public const string Glibcxx3432 = "GLIBCXX_3.4.32";

        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlgWeak = 0x2;

        /// <summary>Patches <paramref name="elf"/> in place when the need is found and not yet weak.</summary>
        public static ElfPatchResult PatchBytes(byte[] elf, string neededFile, string versionName)
        {
            if (elf == null) throw new ArgumentNullException(nameof(elf));
            string? error = FindVernauxFlagsOffset(elf, neededFile, versionName, out long flagsOffset);
            if (error != null) return new ElfPatchResult(ElfPatchOutcome.Malformed, error);
            if (flagsOffset < 0)
                return new ElfPatchResult(ElfPatchOutcome.NotPresent, "no version need " + versionName + " from " + neededFile);
            ushort flags = ReadU16(elf, flagsOffset);
            if ((flags & VerFlgWeak) != 0)
                return new ElfPatchResult(ElfPatchOutcome.AlreadyPatched, versionName + " from " + neededFile + " is already weak");
            WriteU16(elf, flagsOffset, (ushort)(flags | VerFlgWeak));
            return new ElfPatchResult(ElfPatchOutcome.Patched, "marked " + versionName + " from " + neededFile + " weak");
        }

        /// <summary>
        /// Patches a file on disk. The new content goes to a temporary file that then replaces the original
        /// (so a hard link into a package cache is never written through), and the original timestamp is kept
        /// so incremental builds do not copy the pristine file over again.
        /// </summary>
        public static ElfPatchResult PatchFile(string path, string neededFile, string versionName)
        {
            byte[] bytes = File.ReadAllBytes(path);
            ElfPatchResult result = PatchBytes(bytes, neededFile, versionName);
            if (result.Outcome != ElfPatchOutcome.Patched) return result;
            DateTime stamp = File.GetLastWriteTimeUtc(path);
            string temp = path + ".finetuning-patch.tmp";
            File.WriteAllBytes(temp, bytes);
            File.SetLastWriteTimeUtc(temp, stamp);
            File.Delete(path);
            File.Move(temp, path);
            return result;
        }

        /// <summary>True when <paramref name="libraryPath"/> defines <paramref name="versionName"/> (byte search of its version strings).</summary>
        public static bool LibraryDefinesVersion(string libraryPath, string versionName)
        {
            byte[] bytes = File.ReadAllBytes(libraryPath);
            byte[] needle = Encoding.ASCII.GetBytes(versionName + "\0");
            for (int i = 0; i + needle.Length <= bytes.Length; i++)
            {
                if (bytes[i] != needle[0]) continue;
                int j = 1;
                while (j < needle.Length && bytes[i + j] == needle[j]) j++;
                if (j == needle.Length && (i == 0 || bytes[i - 1] == 0)) return true;
            }
            return false;
        }

        /// <summary>Finds the system's libstdc++.so.6 in the dynamic loader's usual directories, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            var dirs = new List<string>();
            string? ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath)) dirs.AddRange(ldPath!.Split(':'));
            dirs.AddRange(new[]
            {
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
            });
            foreach (string dir in dirs)
            {
                if (dir.Length == 0) continue;
                string candidate = Path.Combine(dir, LibStdCxx);
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        /// <summary>
        /// Returns null and the file offset of the matching vna_flags (or -1 when absent), or an error text
        /// when the file is not a well-formed ELF64 little-endian file.
        /// </summary>
        private static string? FindVernauxFlagsOffset(byte[] elf, string neededFile, string versionName, out long flagsOffset)
        {
            flagsOffset = -1;
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                return "not an ELF file (bad magic or shorter than an ELF header)";
            if (elf[4] != 2) return "not a 64-bit ELF file (EI_CLASS " + elf[4] + ")";
            if (elf[5] != 1) return "not a little-endian ELF file (EI_DATA " + elf[5] + ")";

            long shoff = (long)ReadU64(elf, 0x28);
            int shentsize = ReadU16(elf, 0x3A);
            int shnum = ReadU16(elf, 0x3C);
            if (shoff == 0 || shnum == 0) return "the file has no section header table";
            if (shentsize < 64) return "section header entries of " + shentsize + " bytes are too small";
            if (!InRange(elf, shoff, (long)shentsize * shnum)) return "the section header table lies outside the file";

            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                if (ReadU32(elf, sh + 4) != ShtGnuVerneed) continue;

                long offset = (long)ReadU64(elf, sh + 0x18);
                long size = (long)ReadU64(elf, sh + 0x20);
                uint link = ReadU32(elf, sh + 0x28);
                uint count = ReadU32(elf, sh + 0x2C);
                if (offset < 0 || size < 0 || !InRange(elf, offset, size)) return ".gnu.version_r lies outside the file";
                if (link >= shnum) return ".gnu.version_r links to a missing string table";
                long strSh = shoff + (long)link * shentsize;
                long strOff = (long)ReadU64(elf, strSh + 0x18);
                long strSize = (long)ReadU64(elf, strSh + 0x20);
                if (strOff < 0 || strSize < 0 || !InRange(elf, strOff, strSize)) return "the dynamic string table lies outside the file";

                long need = offset;
                for (uint n = 0; n < count; n++)
                {
                    if (need < offset || need + 16 > offset + size) return "a version-need entry lies outside .gnu.version_r";
                    ushort auxCount = ReadU16(elf, need + 2);
                    string? file = ReadString(elf, strOff, strSize, ReadU32(elf, need + 4));
                    if (file == null) return "a version-need file name lies outside the string table";
                    long aux = need + ReadU32(elf, need + 8);
                    for (int a = 0; a < auxCount; a++)
                    {
                        if (aux < offset || aux + 16 > offset + size) return "a version-need aux entry lies outside .gnu.version_r";
                        string? name = ReadString(elf, strOff, strSize, ReadU32(elf, aux + 8));
                        if (name == null) return "a version name lies outside the string table";
                        if (file == neededFile && name == versionName && flagsOffset < 0) flagsOffset = aux + 4;
                        uint nextAux = ReadU32(elf, aux + 12);
                        if (nextAux == 0 && a + 1 < auxCount) return "the aux chain ends before vn_cnt entries";
                        aux += nextAux;
                    }
                    uint next = ReadU32(elf, need + 12);
                    if (next == 0 && n + 1 < count) return "the version-need chain ends before sh_info entries";
                    need += next;
                }
                return null;
            }
            return null;
        }

        private static bool InRange(byte[] b, long offset, long length) => offset >= 0 && length >= 0 && offset <= b.Length && length <= b.Length - offset;

        private static string? ReadString(byte[] b, long tableOffset, long tableSize, uint index)
        {
            if (index >= tableSize) return null;
            long start = tableOffset + index;
            long end = start;
            while (end < tableOffset + tableSize && b[end] != 0) end++;
            if (end >= tableOffset + tableSize) return null;
            return Encoding.ASCII.GetString(b, (int)start, (int)(end - start));
        }

        private static ushort ReadU16(byte[] b, long o) => (ushort)(b[o] | (b[o + 1] << 8));

        private static uint ReadU32(byte[] b, long o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));

        private static ulong ReadU64(byte[] b, long o) => ReadU32(b, o) | ((ulong)ReadU32(b, o + 4) << 32);

        private static void WriteU16(byte[] b, long o, ushort v)
        {
            b[o] = (byte)v;
            b[o + 1] = (byte)(v >> 8);
        }
    }

#if !FINETUNING_PATCHER_NO_TASK
    /// <summary>MSBuild task: patches the given libLibTorchSharp.so copies when the system needs it.</summary>
    public class FineTuningPatchLibTorchSharpTask : Microsoft.Build.Utilities.Task
    {
        /// <summary>The copies of libLibTorchSharp.so in a build or publish output.</summary>
        [Microsoft.Build.Framework.Required]
        public Microsoft.Build.Framework.ITaskItem[] Files { get; set; } = new Microsoft.Build.Framework.ITaskItem[0];

        /// <summary>"auto" (only where the system libstdc++ lacks GLIBCXX_3.4.32) or "always".</summary>
        public string Mode { get; set; } = "auto";

        /// <inheritdoc />
        public override bool Execute()
        {
            if (Mode != "always")
            {
                string? libstdcxx = ElfVersionNeedPatcher.FindSystemLibStdCxx();
                if (libstdcxx != null && ElfVersionNeedPatcher.LibraryDefinesVersion(libstdcxx, ElfVersionNeedPatcher.Glibcxx3432))
                {
                    Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low,
                        "FineTuning: " + libstdcxx + " defines " + ElfVersionNeedPatcher.Glibcxx3432 + "; libLibTorchSharp.so is left as shipped.");
                    return true;
                }
            }
            foreach (Microsoft.Build.Framework.ITaskItem item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    ElfPatchResult r = ElfVersionNeedPatcher.PatchFile(path, ElfVersionNeedPatcher.LibStdCxx, ElfVersionNeedPatcher.Glibcxx3432);
                    switch (r.Outcome)
                    {
                        case ElfPatchOutcome.Patched:
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.High,
                                "FineTuning: the system libstdc++ lacks " + ElfVersionNeedPatcher.Glibcxx3432 + "; " + r.Message + " in " + path + " so TorchSharp can load (see the FineTuning.Core package README).");
                            break;
                        case ElfPatchOutcome.Malformed:
                            Log.LogWarning("FineTuning: left " + path + " untouched: " + r.Message + ". TorchSharp may fail to load with 'GLIBCXX_3.4.32 not found'.");
                            break;
                        default:
                            Log.LogMessage(Microsoft.Build.Framework.MessageImportance.Low, "FineTuning: " + path + ": " + r.Message + ".");
                            break;
                    }
                }
                catch (IOException e)
                {
                    Log.LogWarning("FineTuning: could not patch " + path + ": " + e.Message);
                }
                catch (UnauthorizedAccessException e)
                {
                    Log.LogWarning("FineTuning: could not patch " + path + ": " + e.Message);
                }
            }
            return true;
        }
    }
#endif
}
