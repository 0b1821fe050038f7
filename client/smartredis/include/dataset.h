/* dataset.h — SmartRedis 0.6.1 DataSet (C++): named tensors and metadata stored together.
 * Copying a DataSet copies its contents; moving transfers them. */
#ifndef SMARTREDIS_DATASET_H
#define SMARTREDIS_DATASET_H

#include <stdlib.h>
#include "sr_enums.h"
#include "srobject.h"
#include "srexception.h"

#ifdef __cplusplus
/* as SmartRedis's dataset.h, which codes rely on for std::cout and friends */
#include <iostream>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace SmartRedis {

class Client;

class DataSet : public SRObject {
  public:
    DataSet(const std::string& name);
    DataSet(const DataSet& dataset);
    DataSet& operator=(const DataSet& dataset);
    DataSet(DataSet&& dataset) noexcept;
    DataSet& operator=(DataSet&& dataset) noexcept;
    virtual ~DataSet();

    void add_tensor(const std::string& name, const void* data, const std::vector<size_t>& dims,
                    const SRTensorType type, const SRMemoryLayout mem_layout);
    void add_meta_scalar(const std::string& name, const void* data, const SRMetaDataType type);
    void add_meta_string(const std::string& name, const std::string& data);
    /* data (and dims) stay owned by the DataSet until it is destroyed */
    void get_tensor(const std::string& name, void*& data, std::vector<size_t>& dims,
                    SRTensorType& type, const SRMemoryLayout mem_layout) const;
    void get_tensor(const std::string& name, void*& data, size_t*& dims, size_t& n_dims,
                    SRTensorType& type, const SRMemoryLayout mem_layout) const;
    void unpack_tensor(const std::string& name, void* data, const std::vector<size_t>& dims,
                       const SRTensorType type, const SRMemoryLayout mem_layout);
    void get_meta_scalars(const std::string& name, void*& data, size_t& length,
                          SRMetaDataType& type) const;
    std::vector<std::string> get_meta_strings(const std::string& name) const;
    void get_meta_strings(const std::string& name, char**& data, size_t& n_strings,
                          size_t*& lengths) const;
    bool has_field(const std::string& field_name) const;
    void clear_field(const std::string& field_name);
    std::string get_name() const { return _dsname; }
    void set_name(std::string name);
    std::vector<std::string> get_tensor_names() const;
    void get_tensor_names(char**& data, size_t& n_strings, size_t*& lengths) const;
    SRTensorType get_tensor_type(const std::string& name) const;
    const std::vector<size_t> get_tensor_dims(const std::string& name) const;
    std::vector<std::string> get_metadata_field_names() const;
    void get_metadata_field_names(char**& data, size_t& n_strings, size_t*& lengths) const;
    SRMetaDataType get_metadata_field_type(const std::string& name) const;
    std::string to_string() const;

    /* The C handle (c_dataset.h) this object wraps; owned by the DataSet. */
    void* c_handle() const { return _handle; }
    /* Take ownership of a C dataset handle. */
    static DataSet from_c_handle(void* handle);

    friend class Client;

  protected:
    const void* _c_context() const override { return _handle; }

  private:
    explicit DataSet(void* handle, int);
    void* _handle;
    std::string _dsname;
};

inline std::ostream& operator<<(std::ostream& stream, const DataSet& dataset)
{
    stream << dataset.to_string();
    return stream;
}

}  // namespace SmartRedis
#endif /* __cplusplus */
#endif /* SMARTREDIS_DATASET_H */
