using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using Microsoft.Win32.SafeHandles;
using static TorchSharp.torch;

namespace FineTuning.Models.SafeTensors;

/// <summary>
/// Reads one safetensors file (<see href="https://github.com/huggingface/safetensors#format"/>). Opening
/// reads and validates the header only; <see cref="Load"/> reads one tensor's bytes with positional reads
/// straight into the tensor's native memory. The file stays open (shared for reading and deletion, so a
/// writer can replace it) until disposed.
/// Concurrent <see cref="Load"/> calls are safe.
/// </summary>
public sealed class SafeTensorsReader : ISafeTensorsReader
{
    private readonly SafeFileHandle _handle;
    private readonly SafeTensorsHeader _header;

    private SafeTensorsReader(SafeFileHandle handle, SafeTensorsHeader header)
    {
        _handle = handle;
        _header = header;
    }

    /// <summary>Opens <paramref name="path"/> and validates its header.</summary>
    /// <param name="path">The .safetensors file.</param>
    /// <returns>A reader that owns the open file.</returns>
    /// <exception cref="SafeTensorsFormatException">The header violates the format.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static SafeTensorsReader Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.RandomAccess);
        try
        {
            return new SafeTensorsReader(handle, SafeTensorsHeaderParser.Read(handle, path));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>The file this reader reads, as given to <see cref="Open"/>.</summary>
    public string FilePath => _header.FilePath;

    /// <summary>File offset of the data buffer (8 + header length); <see cref="SafeTensorInfo.DataBegin"/> is relative to it.</summary>
    public long DataStart => _header.DataStart;

    /// <inheritdoc />
    public IReadOnlyList<SafeTensorInfo> Tensors => _header.Tensors;

    /// <summary>The file's <c>__metadata__</c>; empty when it has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata => _header.Metadata;

    /// <summary>Whether the file holds a tensor named <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>True when the tensor exists.</returns>
    public bool Contains(string name) => _header.ByName.ContainsKey(name);

    /// <inheritdoc />
    public bool TryGetInfo(string name, [NotNullWhen(true)] out SafeTensorInfo? info) => _header.ByName.TryGetValue(name, out info);

    /// <summary>The entry of tensor <paramref name="name"/>.</summary>
    /// <param name="name">The tensor name.</param>
    /// <returns>The entry.</returns>
    /// <exception cref="KeyNotFoundException">There is no such tensor.</exception>
    public SafeTensorInfo GetInfo(string name) =>
        TryGetInfo(name, out SafeTensorInfo? info) ? info : throw new KeyNotFoundException($"'{FilePath}' has no tensor '{name}'.");

    /// <inheritdoc />
    public Tensor Load(string name)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        return TensorBytes.Load(_handle, _header.DataStart, GetInfo(name));
    }

    /// <inheritdoc />
    public Dictionary<string, Tensor> LoadAll() => LoadMany.All(_header.Tensors, Load);

    /// <summary>Closes the file. Tensors already loaded stay valid.</summary>
    public void Dispose() => _handle.Dispose();
}
