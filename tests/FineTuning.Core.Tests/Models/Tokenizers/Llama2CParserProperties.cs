using System;
using System.IO;
using FineTuning.Models;
using FineTuning.Models.Llama;
using FineTuning.Models.Tokenizers;
using FineTuning.Testing;
using FsCheck.Xunit;

namespace FineTuning.Core.Tests.Models.Tokenizers;

/// <summary>The llama2.c readers never fail with anything but <see cref="ModelFileException"/> on arbitrary bytes.</summary>
public sealed class Llama2CParserProperties : IDisposable
{
    private readonly TempDirectory dir = new("finetuning-fuzz-");

    public void Dispose() => dir.Dispose();

    [Property(MaxTest = 200)]
    public bool TokenizerLoad_ArbitraryBytes_LoadsOrThrowsModelFileException(byte[] bytes) =>
        LoadsOrThrowsModelFileException(bytes, path => Llama2CTokenizer.Load(path));

    [Property(MaxTest = 200)]
    public bool CheckpointReadConfig_ArbitraryBytes_ReadsOrThrowsModelFileException(byte[] bytes, int[] header) =>
        LoadsOrThrowsModelFileException(Concat(header, bytes), path => Llama2CCheckpoint.ReadConfig(path));

    private bool LoadsOrThrowsModelFileException(byte[] bytes, Action<string> load)
    {
        string path = Path.Combine(dir.Path, Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, bytes ?? Array.Empty<byte>());
        try
        {
            load(path);
            return true;
        }
        catch (ModelFileException e)
        {
            return e.FilePath == path;
        }
    }

    private static byte[] Concat(int[]? header, byte[]? bytes)
    {
        header ??= Array.Empty<int>();
        bytes ??= Array.Empty<byte>();
        var result = new byte[(header.Length * 4) + bytes.Length];
        Buffer.BlockCopy(header, 0, result, 0, header.Length * 4);
        bytes.CopyTo(result, header.Length * 4);
        return result;
    }
}
