using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FineTuning.Build;
using FineTuning.Testing;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Xunit;

namespace FineTuning.Core.Tests.Build;

/// <summary>The libLibTorchSharp load fix, on synthetic ELF files laid out by hand from the gABI/LSB spec.</summary>
public sealed class ElfVersionNeedPatcherTests
{
    private const string Lib = ElfVersionNeedPatcher.LibStdCxx;
    private const string Version = ElfVersionNeedPatcher.Glibcxx3432;

    [Fact]
    public void PatchBytes_NeedPresent_SetsOnlyTheWeakBitOfThatEntry()
    {
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        byte[] original = (byte[])elf.Bytes.Clone();

        ElfPatchResult result = ElfVersionNeedPatcher.PatchBytes(elf.Bytes, Lib, Version);

        Assert.Equal(ElfPatchOutcome.Patched, result.Outcome);
        int[] changed = Enumerable.Range(0, original.Length).Where(i => original[i] != elf.Bytes[i]).ToArray();
        Assert.Equal(new[] { elf.TargetFlagsOffset }, changed);
        Assert.Equal(0x2, elf.Bytes[elf.TargetFlagsOffset]);
    }

    [Fact]
    public void PatchBytes_SecondTime_ReportsAlreadyPatchedAndChangesNothing()
    {
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        ElfVersionNeedPatcher.PatchBytes(elf.Bytes, Lib, Version);
        byte[] once = (byte[])elf.Bytes.Clone();

        ElfPatchResult again = ElfVersionNeedPatcher.PatchBytes(elf.Bytes, Lib, Version);

        Assert.Equal(ElfPatchOutcome.AlreadyPatched, again.Outcome);
        Assert.Equal(once, elf.Bytes);
    }

    [Fact]
    public void PatchBytes_SameVersionNameFromAnotherLibrary_IsNotTouched()
    {
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        byte[] original = (byte[])elf.Bytes.Clone();
        // GLIBC_2.2.5 is needed from libc.so.6 only; asking for it from libstdc++ must not match.
        ElfPatchResult result = ElfVersionNeedPatcher.PatchBytes(elf.Bytes, Lib, "GLIBC_2.2.5");
        Assert.Equal(ElfPatchOutcome.NotPresent, result.Outcome);
        Assert.Equal(original, elf.Bytes);
    }

    [Theory]
    [InlineData("magic")]
    [InlineData("class32")]
    [InlineData("bigendian")]
    [InlineData("sectiontable")]
    [InlineData("auxoutside")]
    [InlineData("nameoutside")]
    [InlineData("truncated")]
    public void PatchBytes_Malformed_ReportsWhyAndLeavesBytesUntouched(string damage)
    {
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        byte[] bytes = elf.Bytes;
        switch (damage)
        {
            case "magic": bytes[1] = (byte)'X'; break;
            case "class32": bytes[4] = 1; break;
            case "bigendian": bytes[5] = 2; break;
            case "sectiontable": BitConverter.GetBytes((ulong)bytes.Length).CopyTo(bytes, 0x28); break;
            case "auxoutside": BitConverter.GetBytes(0x7fff_0000u).CopyTo(bytes, elf.FirstVerneedOffset + 8); break;
            case "nameoutside": BitConverter.GetBytes(0x7fff_0000u).CopyTo(bytes, elf.TargetFlagsOffset + 4); break;
            case "truncated": bytes = bytes.Take(40).ToArray(); break;
        }
        byte[] before = (byte[])bytes.Clone();

        ElfPatchResult result = ElfVersionNeedPatcher.PatchBytes(bytes, Lib, Version);

        Assert.Equal(ElfPatchOutcome.Malformed, result.Outcome);
        Assert.False(string.IsNullOrWhiteSpace(result.Message));
        Assert.Equal(before, bytes);
    }

    [Property(MaxTest = 300)]
    public Property PatchBytes_RandomDamage_NeverThrows_AndOnlyPatchedChangesBytes(NonNegativeInt position, byte value, NonNegativeInt cut)
    {
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        byte[] bytes = elf.Bytes;
        bytes[position.Get % bytes.Length] = value;
        if (cut.Get % 3 == 0) bytes = bytes.Take(cut.Get % bytes.Length).ToArray();
        byte[] before = (byte[])bytes.Clone();

        ElfPatchResult result = ElfVersionNeedPatcher.PatchBytes(bytes, Lib, Version);

        int changed = Enumerable.Range(0, bytes.Length).Count(i => bytes[i] != before[i]);
        return (result.Outcome == ElfPatchOutcome.Patched ? changed == 1 : changed == 0)
            .Label($"{result.Outcome}: {changed} bytes changed ({result.Message})");
    }

    [Fact]
    public void PatchFile_PatchesThroughTempFileAndKeepsTimestamp()
    {
        using var temp = new TempDirectory("elfpatch");
        string dir = temp.Path;
        string path = Path.Combine(dir, "libLibTorchSharp.so");
        SyntheticElf elf = SyntheticElf.Build(weak: false);
        File.WriteAllBytes(path, elf.Bytes);
        var stamp = new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, stamp);

        ElfPatchResult result = ElfVersionNeedPatcher.PatchFile(path, Lib, Version);

        Assert.Equal(ElfPatchOutcome.Patched, result.Outcome);
        Assert.Equal(0x2, File.ReadAllBytes(path)[elf.TargetFlagsOffset]);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(dir));
        Assert.Equal(ElfPatchOutcome.AlreadyPatched, ElfVersionNeedPatcher.PatchFile(path, Lib, Version).Outcome);
    }

    [Fact]
    public void LibraryDefinesVersion_FindsOnlyWholeNulTerminatedNames()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, Encoding.ASCII.GetBytes("\0GLIBCXX_3.4.30\0xGLIBCXX_3.4.32\0"));
            Assert.True(ElfVersionNeedPatcher.LibraryDefinesVersion(path, "GLIBCXX_3.4.30"));
            Assert.False(ElfVersionNeedPatcher.LibraryDefinesVersion(path, "GLIBCXX_3.4.32"));
            Assert.False(ElfVersionNeedPatcher.LibraryDefinesVersion(path, "GLIBCXX_3.4.3"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// A minimal ELF64 little-endian file: header, .dynstr, .gnu.version_r with two needs
    /// (libc.so.6: GLIBC_2.2.5; libstdc++.so.6: GLIBCXX_3.4, GLIBCXX_3.4.32), and a section header table.
    /// </summary>
    private sealed record SyntheticElf(byte[] Bytes, int TargetFlagsOffset, int FirstVerneedOffset)
    {
        public static SyntheticElf Build(bool weak)
        {
            var strtab = new List<byte> { 0 };
            int Str(string s)
            {
                int at = strtab.Count;
                strtab.AddRange(Encoding.ASCII.GetBytes(s));
                strtab.Add(0);
                return at;
            }
            int libc = Str("libc.so.6"), glibc = Str("GLIBC_2.2.5"), libstdcxx = Str(Lib), base34 = Str("GLIBCXX_3.4"), v3432 = Str(Version);

            const int strOff = 64;
            int verneedOff = strOff + strtab.Count + (8 - (strOff + strtab.Count) % 8) % 8;
            var vn = new MemoryStream();
            var w = new BinaryWriter(vn);
            // Verneed 1: libc, 1 aux at +16, next at +32 (after its aux).
            w.Write((ushort)1); w.Write((ushort)1); w.Write((uint)libc); w.Write(16u); w.Write(32u);
            w.Write(0x0d696914u); w.Write((ushort)0); w.Write((ushort)2); w.Write((uint)glibc); w.Write(0u);
            // Verneed 2: libstdc++, 2 aux.
            w.Write((ushort)1); w.Write((ushort)2); w.Write((uint)libstdcxx); w.Write(16u); w.Write(0u);
            w.Write(0x08922974u); w.Write((ushort)0); w.Write((ushort)3); w.Write((uint)base34); w.Write(16u);
            int targetAux = (int)vn.Position;
            w.Write(0x0297f862u); w.Write((ushort)(weak ? 2 : 0)); w.Write((ushort)4); w.Write((uint)v3432); w.Write(0u);
            byte[] verneed = vn.ToArray();

            int shOff = verneedOff + verneed.Length;
            var file = new byte[shOff + 3 * 64];
            Encoding.ASCII.GetBytes("\u007fELF").CopyTo(file, 0);
            file[4] = 2; file[5] = 1; file[6] = 1;
            BitConverter.GetBytes((ushort)3).CopyTo(file, 0x10); // ET_DYN
            BitConverter.GetBytes((ushort)62).CopyTo(file, 0x12); // EM_X86_64
            BitConverter.GetBytes((ulong)shOff).CopyTo(file, 0x28);
            BitConverter.GetBytes((ushort)64).CopyTo(file, 0x34);
            BitConverter.GetBytes((ushort)64).CopyTo(file, 0x3A);
            BitConverter.GetBytes((ushort)3).CopyTo(file, 0x3C);
            strtab.ToArray().CopyTo(file, strOff);
            verneed.CopyTo(file, verneedOff);
            void Section(int index, uint type, int offset, int size, uint link, uint info)
            {
                int sh = shOff + index * 64;
                BitConverter.GetBytes(type).CopyTo(file, sh + 4);
                BitConverter.GetBytes((ulong)offset).CopyTo(file, sh + 0x18);
                BitConverter.GetBytes((ulong)size).CopyTo(file, sh + 0x20);
                BitConverter.GetBytes(link).CopyTo(file, sh + 0x28);
                BitConverter.GetBytes(info).CopyTo(file, sh + 0x2C);
            }
            Section(1, 3, strOff, strtab.Count, 0, 0); // SHT_STRTAB
            Section(2, 0x6ffffffe, verneedOff, verneed.Length, 1, 2); // SHT_GNU_verneed, 2 entries
            return new SyntheticElf(file, verneedOff + targetAux + 4, verneedOff);
        }
    }
}
