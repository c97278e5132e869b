package org.shardplan.graph;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Says what went wrong with a file in words, for one-line errors: the JDK's file-system exceptions
 * carry only the path as their message ("cannot write: /a/b: /a/b" says nothing).
 */
public final class IoErrors {
    private IoErrors() {
    }

    /** What went wrong, without the path (the caller names it). */
    public static String reason(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or folder (does its folder exist?)";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NotDirectoryException) {
            return "a part of the path is not a folder";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "is a folder that is not empty";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
