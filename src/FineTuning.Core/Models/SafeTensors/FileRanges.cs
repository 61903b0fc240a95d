using System;
using System.IO;
using Microsoft.Win32.SafeHandles;

namespace FineTuning.Models.SafeTensors;

/// <summary>Positional reads that either fill the whole buffer or report a truncated file.</summary>
internal static class FileRanges
{
    internal static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long fileOffset, string path, string? tensorName)
    {
        int done = 0;
        while (done < buffer.Length)
        {
            int read = RandomAccess.Read(handle, buffer[done..], fileOffset + done);
            if (read == 0)
            {
                throw new SafeTensorsFormatException(path, tensorName,
                    $"the file ended at byte {fileOffset + done} while {buffer.Length - done} more bytes were expected (truncated file?).");
            }

            done += read;
        }
    }
}
